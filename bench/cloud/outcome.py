"""How a benchmark worker process reports: the workflow's time and results, or the error that
stopped it, as JSON in the file the orchestrator names, and an exit code to match."""
import json
import sys
import time
import traceback


def run_and_report(out_path, workflow):
    """Times `workflow()` (a dict of results), writes {time, **results} or {error, trace} to
    `out_path`, and exits 0 or 1."""
    result = {}
    start = time.perf_counter()
    try:
        found = workflow()
        result.update(time=time.perf_counter() - start, **found)
        code = 0
    except Exception as e:  # a failure is a result to report, not a crash of the harness
        result.update(error=f"{type(e).__name__}: {e}"[:300], trace=traceback.format_exc())
        code = 1
    with open(out_path, "w") as f:
        json.dump(result, f)
    sys.exit(code)
