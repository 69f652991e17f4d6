from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, SelectChoice, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from certplatform.models import CertLevel


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CohortForm(FlaskForm):
    organization = SelectField(_l("University"), coerce=int, validate_choice=False)
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    term = StringField(_l("Term"), validators=[DataRequired(), Length(max=60)])
    levels = CheckboxesField(
        _l("Target levels"),
        choices=[SelectChoice(level.value, level.value) for level in CertLevel],
        validators=[DataRequired(_l("Choose at least one level."))],
    )
    starts_on = DateField(_l("Starts on"), validators=[DataRequired()])
    ends_on = DateField(_l("Ends on"), validators=[DataRequired()])
    instructors = TextAreaField(_l("Instructors (emails of existing accounts)"), validators=[Length(max=5000)])


class UploadForm(FlaskForm):
    # Size, rows and columns are checked by the service, which records a rejected upload with the reason.
    file = FileField(_l("Class list (CSV)"), validators=[FileRequired(_l("Choose a CSV file to upload."))])
