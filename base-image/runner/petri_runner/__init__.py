"""petri_runner: runs one attempt of a Petri job and reports it over HTTP.

Standard library only, so any image with Python 3 can run it: ``python -m petri_runner``.

Environment:
    PETRI_API_URL               the Petri web app, e.g. http://petri-web:8000 (required)
    PETRI_JOB_TOKEN             this attempt's bearer token (required)
    PETRI_ALGORITHMS_DIR        catalog folders, default /opt/petri/algorithms
    PETRI_WORK_DIR              base directory; default a temporary one, removed at the end
    PETRI_KEEP_WORKDIR          1 keeps the temporary directory
    PETRI_RUNNER_RETRY_SECONDS  retry budget per HTTP call, default 600
    PETRI_SANDBOX               bwrap: run the entrypoint in a bubblewrap sandbox (local backend);
                                unset or none: the pod or job is the boundary (sandbox.py)
    PETRI_SANDBOX_*             bwrap's path, the uid to run as under root, rlimits (config.py)

Exit codes: 0 result accepted, 1 runner bug or local disk trouble, 2 bad configuration,
3 retries exhausted, 4 attempt over (401/403/404/409/410), 5 other refusal by the server,
143 stopped by SIGTERM/SIGINT (no result posted).
"""
