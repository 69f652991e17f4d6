"""Entry point of the candidate process for plain-Python kinds (`cluster_plan`): no torch, no Triton, no
guards; the separation is the operating system's (another uid, no access to the hidden tests).

Lives at the top of the harness directory so that sys.path[0] is the root-owned harness, never the candidate's
cwd.
"""

import sys

from gradelib.leave import leave
from gradelib.plan_runner import main

if __name__ == "__main__":
    leave(main(sys.argv[1:]))
