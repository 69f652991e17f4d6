from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from certplatform.i18n import LANGUAGE_NAMES


class ProfileForm(FlaskForm):
    name_latin = StringField(
        _l("Name in Latin letters (as on your certificate)"), validators=[DataRequired(), Length(max=120)]
    )
    name_zh = StringField(_l("Name in Chinese characters (optional)"), validators=[Optional(), Length(max=60)])
    locale = SelectField(
        _l("Interface language"),
        choices=[SelectChoice("", _l("Follow my browser"))]
        + [SelectChoice(loc.value, name) for loc, name in LANGUAGE_NAMES.items()],
    )


class PasswordChangeForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(
        _l("Repeat new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("Passwords differ."))],
    )
