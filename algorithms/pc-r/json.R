# A small JSON reader and writer in base R (base R has none, and CRAN packages
# are not available to Petri algorithms).
#
# json_parse(text): objects become named lists, arrays unnamed lists, null NULL,
# true/false logicals, numbers doubles, strings UTF-8 character scalars.
# to_json(x): the reverse; a length-one atomic vector is a scalar, so write a
# one-element array as list(x).

json_parse <- function(text) {
  # Work on Unicode code points, so the result does not depend on the locale.
  cps <- utf8ToInt(enc2utf8(text))
  if (anyNA(cps)) stop("JSON text is not valid UTF-8")
  n <- length(cps)
  pos <- 1L
  # Quotes and backslashes, found once: a string ends at the next of them.
  specials <- which(cps == 34L | cps == 92L)

  bad <- function(what) stop(sprintf("invalid JSON at character %d: %s", pos, what))
  skip_space <- function() {
    while (pos <= n && cps[pos] %in% c(32L, 9L, 10L, 13L)) pos <<- pos + 1L
  }
  expect <- function(literal) {
    codes <- utf8ToInt(literal)
    end <- pos + length(codes) - 1L
    if (end > n || any(cps[pos:end] != codes)) bad(paste("expected", literal))
    pos <<- end + 1L
  }

  parse_string <- function() {
    pos <<- pos + 1L # the opening quote
    out <- integer(0)
    repeat {
      k <- specials[findInterval(pos - 1L, specials) + 1L]
      if (is.na(k)) bad("unterminated string")
      if (k > pos) out <- c(out, cps[pos:(k - 1L)])
      pos <<- k + 1L
      if (cps[k] == 34L) break
      if (pos > n) bad("unterminated string")
      escape <- intToUtf8(cps[pos])
      pos <<- pos + 1L
      simple <- c(`"` = 34L, `\\` = 92L, `/` = 47L, b = 8L, f = 12L, n = 10L, r = 13L, t = 9L)
      if (escape %in% names(simple)) {
        out <- c(out, simple[[escape]])
      } else if (escape == "u") {
        code <- parse_hex4()
        # A surrogate pair encodes one code point beyond the Basic Multilingual Plane.
        if (code >= 0xD800L && code <= 0xDBFFL && pos + 1L <= n &&
            cps[pos] == 92L && cps[pos + 1L] == 117L) {
          pos <<- pos + 2L
          low <- parse_hex4()
          code <- 0x10000L + (code - 0xD800L) * 1024L + (low - 0xDC00L)
        }
        out <- c(out, code)
      } else {
        bad(paste0("unknown escape \\", escape))
      }
    }
    if (any(out == 0L)) bad("NUL characters in strings are not supported")
    if (length(out) == 0L) "" else intToUtf8(out)
  }
  parse_hex4 <- function() {
    if (pos + 3L > n) bad("short \\u escape")
    hex <- intToUtf8(cps[pos:(pos + 3L)])
    if (!grepl("^[0-9A-Fa-f]{4}$", hex)) bad("bad \\u escape")
    pos <<- pos + 4L
    strtoi(hex, 16L)
  }

  parse_number <- function() {
    start <- pos
    while (pos <= n && cps[pos] %in% utf8ToInt("+-0123456789.eE")) pos <<- pos + 1L
    literal <- intToUtf8(cps[start:(pos - 1L)])
    if (!grepl("^-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?$", literal)) {
      bad(paste("bad number", literal))
    }
    as.numeric(literal)
  }

  parse_array <- function() {
    pos <<- pos + 1L
    items <- list()
    skip_space()
    if (pos <= n && cps[pos] == 93L) {
      pos <<- pos + 1L
      return(items)
    }
    repeat {
      # list(value), not value: assigning NULL would drop the element.
      items[length(items) + 1L] <- list(parse_value())
      skip_space()
      if (pos > n) bad("unterminated array")
      if (cps[pos] == 93L) break
      if (cps[pos] != 44L) bad("expected , or ]")
      pos <<- pos + 1L
    }
    pos <<- pos + 1L
    items
  }

  parse_object <- function() {
    pos <<- pos + 1L
    keys <- character(0)
    values <- list()
    skip_space()
    if (pos <= n && cps[pos] == 125L) {
      pos <<- pos + 1L
      return(structure(list(), names = character(0)))
    }
    repeat {
      skip_space()
      if (pos > n || cps[pos] != 34L) bad("expected a string key")
      key <- parse_string()
      skip_space()
      expect(":")
      value <- parse_value()
      existing <- match(key, keys)
      if (is.na(existing)) {
        keys <- c(keys, key)
        values[length(values) + 1L] <- list(value)
      } else {
        values[existing] <- list(value) # the last duplicate wins, as in Python
      }
      skip_space()
      if (pos > n) bad("unterminated object")
      if (cps[pos] == 125L) break
      if (cps[pos] != 44L) bad("expected , or }")
      pos <<- pos + 1L
    }
    pos <<- pos + 1L
    names(values) <- keys
    values
  }

  parse_value <- function() {
    skip_space()
    if (pos > n) bad("unexpected end")
    ch <- cps[pos]
    if (ch == 123L) return(parse_object())
    if (ch == 91L) return(parse_array())
    if (ch == 34L) return(parse_string())
    if (ch == 116L) {
      expect("true")
      return(TRUE)
    }
    if (ch == 102L) {
      expect("false")
      return(FALSE)
    }
    if (ch == 110L) {
      expect("null")
      return(NULL)
    }
    parse_number()
  }

  value <- parse_value()
  skip_space()
  if (pos <= n) bad("trailing characters")
  value
}

json_read <- function(path) {
  size <- file.info(path)$size
  if (is.na(size)) stop(sprintf("cannot read %s", path))
  text <- if (size == 0) "" else readChar(path, size, useBytes = TRUE)
  Encoding(text) <- "UTF-8"
  json_parse(sub("^\ufeff", "", text))
}

json_string <- function(s) {
  s <- enc2utf8(s)
  s <- gsub("\\", "\\\\", s, fixed = TRUE)
  s <- gsub("\"", "\\\"", s, fixed = TRUE)
  s <- gsub("\n", "\\n", s, fixed = TRUE)
  s <- gsub("\r", "\\r", s, fixed = TRUE)
  s <- gsub("\t", "\\t", s, fixed = TRUE)
  # Any other control character as \u00XX.
  codes <- utf8ToInt(s)
  if (any(codes < 32L)) {
    s <- paste(vapply(codes, function(c) {
      if (c < 32L) sprintf("\\u%04x", c) else intToUtf8(c)
    }, ""), collapse = "")
  }
  paste0("\"", s, "\"")
}

json_number <- function(x) {
  if (!is.finite(x)) stop("JSON has no NaN or infinity")
  if (x == round(x) && abs(x) < 1e15) return(sprintf("%.0f", x))
  # The shortest of 15..17 significant digits that reads back as the same double.
  for (digits in 15:17) {
    text <- sprintf("%.*g", digits, x)
    if (as.numeric(text) == x) break
  }
  text
}

to_json <- function(x, indent = 0L) {
  pad <- strrep("  ", indent + 1L)
  end <- strrep("  ", indent)
  if (is.null(x)) return("null")
  if (is.list(x)) {
    if (length(x) == 0L) return(if (is.null(names(x))) "[]" else "{}")
    items <- vapply(x, to_json, "", indent = indent + 1L, USE.NAMES = FALSE)
    if (!is.null(names(x))) {
      items <- paste0(vapply(names(x), json_string, "", USE.NAMES = FALSE), ": ", items)
      return(paste0("{\n", pad, paste(items, collapse = paste0(",\n", pad)), "\n", end, "}"))
    }
    return(paste0("[\n", pad, paste(items, collapse = paste0(",\n", pad)), "\n", end, "]"))
  }
  if (length(x) != 1L) return(to_json(as.list(x), indent))
  if (is.logical(x)) return(if (is.na(x)) "null" else if (x) "true" else "false")
  if (is.numeric(x)) return(json_number(x))
  json_string(as.character(x))
}

json_write <- function(x, path) {
  con <- file(path, open = "wb")
  on.exit(close(con))
  writeBin(charToRaw(enc2utf8(paste0(to_json(x), "\n"))), con)
}
