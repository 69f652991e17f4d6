"""The certificate lifecycle: issuing, status from signed data, the public page, revocation, verification.

The pure signing, PDF and badge code these build on is the library certplatform.certificates; this package is what
views, tasks and commands call, e.g. `certificates.issuing.issue(attempt)`, `certificates.status.assess(cert)`,
`certificates.revocation.revoke(admin, cert, reason)`. Every module is imported here, so `certificates.<module>`
always resolves.
"""

from certplatform.services.certificates import issuing, page, revocation, status, verification

__all__ = ["issuing", "page", "revocation", "status", "verification"]
