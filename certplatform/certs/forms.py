from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired, Length


class ProfileForm(FlaskForm):
    public_profile = BooleanField(_l("Show my certificates on a public profile page"))


class RevokeForm(FlaskForm):
    reason = TextAreaField(_l("Reason (shown on the verification page)"), validators=[DataRequired(), Length(max=2000)])
