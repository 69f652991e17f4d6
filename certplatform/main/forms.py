from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField

from certplatform.i18n import LANGUAGE_NAMES


class LanguageForm(FlaskForm):
    locale = SelectField(choices=[(loc.value, name) for loc, name in LANGUAGE_NAMES.items()])
    next = HiddenField()
