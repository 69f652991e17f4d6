"""In-container grading harness for certplatform (stdlib + torch + triton + numpy; never imports
certplatform).

The grader contract is sandboxes/README.md. Modules:
  results      the frozen result model and its capped JSON form
  limits       the limits a task grants and how the harness reads them
  layout       the /grade directory layout
  runtime      the device of this run (/grade/runtime.json: CPU interpreter, or CUDA with timing)
  timing       GPU timing: warm-up, CUDA-event repetitions, L2 flush, statistics, the speedup flag
  isolation    privilege drop, rlimits, locking down hidden files, sweeping candidate processes
  channel      framed messages and tensor encoding between checker and candidate
  static_scan  the AST rules a submission must follow before it is run
  session      the checker's handle on one candidate process
  candidate_grade  the grade of every kind whose submission runs in a candidate process
  runner       the candidate-side process (runs as the candidate user)
  gpu_runner   the candidate side of a timing run (GPU runtime)
  guards       runtime guards inside the candidate process
  checker      the top-level grade() flow
  kinds/       task kinds behind a registry (triton_op)
"""
