"""Forms shared by every feature."""

from flask_wtf import FlaskForm


class ActionForm(FlaskForm):
    """Only the CSRF token: for buttons that change one thing (enrol, claim, revoke, log out, ...) and for forms whose
    fields are read by a service because their names are dynamic (a quiz's answers, a rubric's scores)."""
