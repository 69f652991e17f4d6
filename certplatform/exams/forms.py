from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileSize
from wtforms import HiddenField, TextAreaField
from wtforms.validators import Optional

MAX_UPLOAD = 64 * 1024


class SubmissionForm(FlaskForm):
    code = TextAreaField(_l("Your code"), validators=[Optional()])
    upload = FileField(
        _l("…or upload a .py file"),
        validators=[
            Optional(),
            FileAllowed(["py"], _l("Upload a Python file (.py).")),
            FileSize(max_size=MAX_UPLOAD, message=_l("The file is larger than 64 KB.")),
        ],
    )


class DocumentForm(SubmissionForm):
    """The same submission, for tasks whose answer is a Markdown document (kinds with source_suffix .md)."""

    code = TextAreaField(_l("Your document (Markdown)"), validators=[Optional()])
    upload = FileField(
        _l("…or upload a Markdown file (.md)"),
        validators=[
            Optional(),
            FileAllowed(["md"], _l("Upload a Markdown file (.md).")),
            FileSize(max_size=MAX_UPLOAD, message=_l("The file is larger than 64 KB.")),
        ],
    )


class HandInForm(FlaskForm):
    """Hand in now. `confirmed` is "yes" once the candidate answered the hand-in question: in the browser's dialog,
    or, without JavaScript, on the page the server shows in its place."""

    confirmed = HiddenField()
