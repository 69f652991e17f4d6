from flask_wtf import FlaskForm


class EnrollForm(FlaskForm):
    """Only the CSRF token: enrolling takes no input."""


class QuizForm(FlaskForm):
    """The CSRF token; the answers are read from the request by the quiz service (their names are dynamic)."""
