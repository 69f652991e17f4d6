from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class KeyForm(FlaskForm):
    name = StringField(_l("Key name"), validators=[DataRequired(), Length(max=100)])


class SearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search that changes nothing

    level = SelectField(
        _l("Level"),
        choices=[SelectChoice("", _l("All levels"))] + [SelectChoice(lv, lv) for lv in ("L1", "L2", "L3")],
        validators=[Optional()],
    )
    skill = StringField(_l("Skill"), validators=[Optional(), Length(max=30)])


class ContactForm(FlaskForm):
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=200)])
    body = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=10_000)])
