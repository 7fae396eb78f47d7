# The PC algorithm in base R, as a Petri algorithm (the search itself is in pc.R).
#
# Reads PETRI_PARAMS_FILE (JSON) and the PETRI_DATASET_FILE CSV, learns a CPDAG
# with Fisher-z tests, writes graph.json and metrics.json to PETRI_OUTPUT_DIR,
# and compares with PETRI_TRUTH_FILE when there is one.

script_dir <- function() {
  file_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
  if (length(file_arg)) dirname(normalizePath(sub("^--file=", "", file_arg[1]))) else getwd()
}
source(file.path(script_dir(), "json.R"))
source(file.path(script_dir(), "graphs.R"))
source(file.path(script_dir(), "pc.R"))

say <- function(...) {
  cat(..., "\n", sep = "")
  # Flushed at once, so the runner sees progress while the search goes on.
  flush(stdout())
}
progress <- function(fraction) say(sprintf("::progress %.2f", fraction))
fail <- function(message) {
  cat("error: ", message, "\n", sep = "", file = stderr())
  quit(save = "no", status = 1)
}

read_dataset <- function(path) {
  # read.csv would wrap a long row into the next one; count the fields first.
  fields <- tryCatch(
    utils::count.fields(path, sep = ",", quote = "\"", comment.char = ""),
    error = function(e) fail(paste("cannot read the dataset:", conditionMessage(e)))
  )
  if (length(fields) == 0L) fail("the dataset is empty")
  uneven <- which(fields != fields[1])
  if (length(uneven)) {
    row <- uneven[1]
    fail(sprintf("row %d has %d fields, the header has %d", row, fields[row], fields[1]))
  }
  data <- tryCatch(
    utils::read.csv(path,
      check.names = FALSE, strip.white = TRUE, encoding = "UTF-8",
      colClasses = "character", na.strings = character(0), comment.char = ""
    ),
    error = function(e) fail(paste("cannot read the dataset:", conditionMessage(e)))
  )
  # A byte-order mark, as spreadsheets write, would stick to the first name.
  names(data) <- sub("^\ufeff", "", trimws(names(data)))
  if (anyDuplicated(names(data))) fail("the dataset has duplicate column names")
  values <- matrix(
    suppressWarnings(as.numeric(unlist(data, use.names = FALSE))),
    nrow = nrow(data), ncol = ncol(data), dimnames = list(NULL, names(data))
  )
  # NA is text that is not a number; NaN and Inf are numbers, but unusable.
  bad <- which(is.na(values) & !is.nan(values), arr.ind = TRUE)
  if (nrow(bad)) {
    fail(sprintf(
      "row %d is not numeric ('%s' in column '%s'); PC needs numeric columns",
      bad[1, 1] + 1L, data[bad[1, 1], bad[1, 2]], names(data)[bad[1, 2]]
    ))
  }
  if (!all(is.finite(values))) fail("the dataset has missing or infinite values")
  values
}

graph_json <- function(names, adjacent, arrow) {
  edges <- list()
  p <- length(names)
  for (a in seq_len(p)) {
    for (b in which(adjacent[a, ])) {
      if (b < a) next
      if (arrow[a, b]) {
        edge <- list(source = names[a], target = names[b], type = "directed")
      } else if (arrow[b, a]) {
        edge <- list(source = names[b], target = names[a], type = "directed")
      } else {
        edge <- list(source = names[a], target = names[b], type = "undirected")
      }
      edges[[length(edges) + 1L]] <- edge
    }
  }
  graph <- list(nodes = as.list(names), edges = edges)
  validate_graph(graph)
  graph
}

main <- function() {
  params_file <- Sys.getenv("PETRI_PARAMS_FILE")
  output_dir <- Sys.getenv("PETRI_OUTPUT_DIR")
  dataset <- Sys.getenv("PETRI_DATASET_FILE")
  truth_file <- Sys.getenv("PETRI_TRUTH_FILE")
  if (params_file == "" || output_dir == "") {
    fail("PETRI_PARAMS_FILE and PETRI_OUTPUT_DIR must be set")
  }
  if (dataset == "") fail("PC needs a dataset (PETRI_DATASET_FILE is not set)")
  dir.create(output_dir, recursive = TRUE, showWarnings = FALSE)

  params <- json_read(params_file)
  alpha <- as.numeric(params$alpha)
  max_depth <- as.integer(params$max_depth)
  do_orient <- isTRUE(params$orient)
  if (length(alpha) != 1L || !(alpha > 0 && alpha < 1)) fail("alpha must be between 0 and 1")
  if (length(max_depth) != 1L || is.na(max_depth)) fail("max_depth must be an integer")

  progress(0)
  data <- read_dataset(dataset)
  n <- nrow(data)
  say(sprintf("loaded %d rows x %d columns from the dataset", n, ncol(data)))
  if (n < 4L) fail("PC needs at least 4 rows")
  if (any(apply(data, 2, stats::sd) == 0)) fail("a column is constant; Fisher-z cannot test it")
  progress(0.1)

  say(sprintf("running PC (R %s): alpha=%s max_depth=%d orient=%s",
    getRversion(), format(alpha), max_depth, tolower(do_orient)))
  started <- proc.time()[["elapsed"]]
  found <- skeleton(stats::cor(data), n, alpha, max_depth,
    on_depth = function(done) progress(0.1 + 0.6 * done)
  )
  arrow <- if (do_orient) orient(found$adjacent, found$sepsets) else found$adjacent & FALSE
  runtime <- proc.time()[["elapsed"]] - started
  progress(0.8)

  graph <- graph_json(colnames(data), found$adjacent, arrow)
  json_write(graph, file.path(output_dir, "graph.json"))
  types <- vapply(graph$edges, function(e) e$type, "")
  say(sprintf("PC found %d edges with %d tests in %.3fs", length(types), found$tests, runtime))

  metrics <- list(
    edges = length(types),
    directed_edges = sum(types == "directed"),
    nodes = ncol(data),
    rows = n,
    tests = found$tests,
    runtime_s = round(runtime, 6)
  )
  if (truth_file != "") {
    truth <- tryCatch(
      {
        parsed <- json_read(truth_file)
        validate_graph(parsed)
        parsed
      },
      error = function(e) {
        fail(paste("the true graph is not a valid graph.json:", conditionMessage(e)))
      }
    )
    comparison <- compare_graphs(graph, truth)
    metrics <- c(metrics, comparison)
    say("against the true graph: ", paste(
      sprintf("%s=%.4g", names(comparison), unlist(comparison)),
      collapse = ", "
    ))
  }
  json_write(metrics, file.path(output_dir, "metrics.json"))
  progress(1)
}

# Only when Rscript runs this file: a driver that sources it (the tests) calls main() itself.
if (sys.nframe() == 0L) tryCatch(main(), error = function(e) fail(conditionMessage(e)))
