"""Whom a submission runs as: the one account the harness drops the candidate's code to, and that the host checks
can reach the grading interpreter (certplatform/sandbox/candidate_access.py) and makes for the tests.

Pure data, standard library only: the web app reads it too, without torch.
"""

CANDIDATE_USER = "candidate"  # the image's account (sandboxes/triton-*/Dockerfile creates it with this uid)
CANDIDATE_UID = 10001
# Another account for the candidate, for a host that runs graders of its own beside others as local processes:
# the kernel counts RLIMIT_NPROC per uid, so each grader's candidate must be a user of its own.
USER_VAR = "CERTPLATFORM_CANDIDATE_USER"
