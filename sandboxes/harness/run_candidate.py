"""Entry point of the candidate process (started by the checker as the candidate user; see
gradelib/runner.py).

Lives at the top of the harness directory so that sys.path[0] is the root-owned harness, never the candidate's
cwd.
"""

import os
import sys

# Must be settled before triton is imported anywhere: @triton.jit picks the interpreter at decoration time.
# The CPU runtime interprets; the GPU runtime (the checker sets CERTPLATFORM_DEVICE=cuda) compiles.
if os.environ.get("CERTPLATFORM_DEVICE") == "cuda":
    os.environ.pop("TRITON_INTERPRET", None)
else:
    os.environ["TRITON_INTERPRET"] = "1"

from gradelib.leave import leave
from gradelib.runner import main

if __name__ == "__main__":
    leave(main(sys.argv[1:]))
