from django import forms

from tasks.errors.registry import RulePatternError, compile_rule_pattern
from tasks.models import ErrorRule


class ErrorRuleForm(forms.ModelForm):
    class Meta:
        model = ErrorRule
        fields = ["source", "code", "pattern", "new_code", "error_class", "description", "active"]
        widgets = {"pattern": forms.TextInput(attrs={"size": 80})}

    def clean_pattern(self):
        pattern = self.cleaned_data["pattern"]
        try:
            compile_rule_pattern(pattern)
        except RulePatternError as exc:
            raise forms.ValidationError(str(exc)) from None
        return pattern
