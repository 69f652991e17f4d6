from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class ProfileForm(FlaskForm):
    public_profile = BooleanField(_l("Show my certificates on a public profile page"))


class DirectoryForm(FlaskForm):
    listed = BooleanField(_l("List me in the talent directory"))
    skills = StringField(
        _l("Skills (tags separated by commas, e.g. triton, cuda, flagscale)"), validators=[Optional(), Length(max=400)]
    )


class RevokeForm(FlaskForm):
    reason = TextAreaField(_l("Reason (shown on the verification page)"), validators=[DataRequired(), Length(max=2000)])
