from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField

from certplatform.i18n import LANGUAGE_NAMES


class LanguageForm(FlaskForm):
    locale = SelectField(choices=[SelectChoice(loc.value, name) for loc, name in LANGUAGE_NAMES.items()])
    next = HiddenField()
