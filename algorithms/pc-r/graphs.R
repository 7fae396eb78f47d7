# Petri graph.json helpers in base R: validation and comparison against a ground
# truth, with the same rules as the Python graphs.py of the other algorithms.
# A graph is list(nodes = list of names, edges = list of list(source, target, type, ...)).

EDGE_TYPES <- c("directed", "undirected", "bidirected")

is_name <- function(x) is.character(x) && length(x) == 1L && !is.na(x)

validate_graph <- function(graph) {
  if (!is.list(graph) || is.null(names(graph))) stop("graph must be a JSON object")
  nodes <- graph$nodes
  if (!is.list(nodes) || !all(vapply(nodes, is_name, TRUE))) {
    stop("graph 'nodes' must be a list of strings")
  }
  nodes <- as.character(unlist(nodes))
  if (anyDuplicated(nodes)) stop("graph 'nodes' must be unique")
  edges <- graph$edges
  if (!is.list(edges) || (length(edges) && !is.null(names(edges)))) {
    stop("graph 'edges' must be a list")
  }
  for (edge in edges) {
    if (!is.list(edge) || is.null(names(edge))) stop("edge must be an object")
    if (!is_name(edge$source) || !is_name(edge$target)) stop("edge source and target must be names")
    if (edge$source == edge$target) stop(sprintf("self-loop on '%s'", edge$source))
    if (!is_name(edge$type) || !(edge$type %in% EDGE_TYPES)) {
      stop(sprintf("edge type must be one of %s", paste(EDGE_TYPES, collapse = ", ")))
    }
    weight <- edge$weight
    # is.numeric excludes TRUE/FALSE, which are never meaningful weights.
    if (!is.null(weight) && !(is.numeric(weight) && length(weight) == 1L)) {
      stop("edge weight must be a number or null")
    }
  }
  ends <- c(vapply(edges, `[[`, "", "source"), vapply(edges, `[[`, "", "target"))
  if (!all(ends %in% nodes)) stop("edge refers to an unknown node")
  invisible(adjacencies(graph)) # rejects contradictory edges on one pair
}

# Named character vector: "first\tsecond" (the pair in code-point order) to its
# mark '->', '<-', '--' or '<->', the arrow read left to right over the pair.
adjacencies <- function(graph) {
  # An environment is R's hash map: big graphs stay linear.
  seen <- new.env(hash = TRUE)
  for (edge in graph$edges) {
    source <- edge$source
    target <- edge$target
    pair <- sort(c(source, target), method = "radix") # code-point order, any locale
    mark <- switch(edge$type,
      directed = if (pair[1] == source) "->" else "<-",
      undirected = "--",
      bidirected = "<->"
    )
    key <- paste(pair, collapse = "\t")
    known <- seen[[key]]
    if (is.null(known)) {
      assign(key, mark, envir = seen)
    } else if (known != mark) {
      stop(sprintf("conflicting edges between '%s' and '%s'", pair[1], pair[2]))
    }
  }
  keys <- ls(seen, all.names = TRUE, sorted = FALSE)
  vapply(keys, function(k) seen[[k]], "")
}

# shd counts node pairs whose edge differs (missing, extra, or another type or
# orientation), one per pair. precision, recall and f1 are over the skeleton;
# an empty prediction has precision 1 and an empty truth recall 1, and f1 is 0
# when both are 0.
compare_graphs <- function(result, truth) {
  found <- adjacencies(result)
  true <- adjacencies(truth)
  pairs <- union(names(found), names(true))
  a <- unname(found[pairs])
  b <- unname(true[pairs])
  shd <- sum(is.na(a) | is.na(b) | a != b)
  hits <- length(intersect(names(found), names(true)))
  precision <- if (length(found)) hits / length(found) else 1
  recall <- if (length(true)) hits / length(true) else 1
  f1 <- if (precision + recall > 0) 2 * precision * recall / (precision + recall) else 0
  list(
    shd = shd,
    precision = precision,
    recall = recall,
    f1 = f1,
    true_positives = hits,
    false_positives = length(found) - hits,
    false_negatives = length(true) - hits
  )
}
