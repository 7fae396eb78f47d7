# The PC algorithm in base R: Fisher-z tests, the stable skeleton search, and
# orientation of colliders and Meek's rules. No I/O, so tests can call it directly.

# p-value of the Fisher-z test of x independent of y given the columns s.
fisher_z <- function(corr, n, x, y, s) {
  if (n - length(s) - 3 <= 0) return(0) # too few rows to test: keep the edge
  vars <- c(x, y, s)
  inverse <- tryCatch(solve(corr[vars, vars, drop = FALSE]), error = function(e) {
    stop("the correlation matrix is singular (a column is constant or a copy of others)")
  })
  r <- -inverse[1, 2] / sqrt(abs(inverse[1, 1] * inverse[2, 2]))
  r <- max(min(r, 1 - 1e-15), -1 + 1e-15) # a deterministic relation gives |r| = 1
  z <- 0.5 * log((1 + r) / (1 - r))
  2 * stats::pnorm(sqrt(n - length(s) - 3) * abs(z), lower.tail = FALSE)
}

# Subsets of size k of the vector v, one per column (combn misreads a length-one v).
subsets <- function(v, k) {
  if (k == 0L) return(matrix(integer(0), 0L, 1L))
  if (length(v) < k) return(matrix(integer(0), k, 0L))
  if (length(v) == 1L) return(matrix(v, 1L, 1L))
  utils::combn(v, k)
}

# The order-independent ("stable") PC skeleton: at each depth the conditioning
# sets come from the adjacencies as they were when the depth began. on_depth is
# called with the fraction of the search done after each depth.
skeleton <- function(corr, n, alpha, max_depth, on_depth = function(fraction) NULL) {
  p <- ncol(corr)
  adjacent <- matrix(TRUE, p, p)
  diag(adjacent) <- FALSE
  sepsets <- list()
  tests <- 0L
  deepest <- if (max_depth < 0) max(p - 2L, 0L) else max_depth
  depth <- 0L
  while (depth <= deepest) {
    frozen <- adjacent
    testable <- FALSE
    for (x in seq_len(p)) {
      for (y in which(frozen[x, ])) {
        if (!adjacent[x, y]) next # removed earlier at this depth
        candidates <- setdiff(which(frozen[x, ]), y)
        if (length(candidates) < depth) next
        testable <- TRUE
        sets <- subsets(candidates, depth)
        for (k in seq_len(ncol(sets))) {
          s <- sets[, k]
          tests <- tests + 1L
          if (fisher_z(corr, n, x, y, s) > alpha) {
            adjacent[x, y] <- adjacent[y, x] <- FALSE
            sepsets[[paste(min(x, y), max(x, y))]] <- s
            break
          }
        }
      }
    }
    on_depth((depth + 1) / (deepest + 1))
    if (!testable) break # no pair has enough neighbours for a deeper search
    depth <- depth + 1L
  }
  list(adjacent = adjacent, sepsets = sepsets, tests = tests)
}

# Orientation marks: arrow[a, b] is TRUE when the edge a-b has an arrowhead at b;
# no edge ends up with two.
orient <- function(adjacent, sepsets) {
  p <- nrow(adjacent)
  arrow <- matrix(FALSE, p, p)
  directed <- function(a, b) arrow[a, b] && !arrow[b, a]
  undirected <- function(a, b) adjacent[a, b] && !arrow[a, b] && !arrow[b, a]
  # Colliders: a - mid - b with a, b not adjacent and mid outside their separating
  # set. When errors in the tests make two colliders disagree, the one oriented
  # first wins, as in causal-learn's default (uc_priority 2, triples in the
  # order a, mid, b), so no edge gets two arrowheads.
  for (a in seq_len(p)) {
    for (mid in which(adjacent[a, ])) {
      for (b in which(adjacent[mid, ])) {
        if (b <= a || adjacent[a, b] || mid %in% sepsets[[paste(a, b)]]) next
        if (!directed(mid, a) && !directed(mid, b)) {
          arrow[a, mid] <- arrow[b, mid] <- TRUE
        }
      }
    }
  }
  # Meek's rules R1-R3, until nothing changes; they avoid new colliders and cycles.
  repeat {
    changed <- FALSE
    for (a in seq_len(p)) {
      for (b in which(adjacent[a, ])) {
        if (!undirected(a, b)) next
        others <- setdiff(seq_len(p), c(a, b))
        # R1: c -> a - b, c and b not adjacent  =>  a -> b
        r1 <- any(vapply(others, function(k) directed(k, a) && !adjacent[k, b], TRUE))
        # R2: a -> c -> b, a - b  =>  a -> b
        r2 <- any(vapply(others, function(k) directed(a, k) && directed(k, b), TRUE))
        # R3: a - c -> b and a - d -> b, c and d not adjacent  =>  a -> b
        feeders <- others[vapply(others, function(k) undirected(a, k) && directed(k, b), TRUE)]
        r3 <- length(feeders) >= 2L && any(!adjacent[feeders, feeders][
          upper.tri(diag(length(feeders)))
        ])
        if (r1 || r2 || r3) {
          arrow[a, b] <- TRUE
          changed <- TRUE
        }
      }
    }
    if (!changed) break
  }
  arrow
}
