"""What an order is, for the JSON API and the HTML form alike."""

from __future__ import annotations

from django import forms


class OrderForm(forms.Form):
    item = forms.CharField(max_length=200)
    amount = forms.IntegerField(min_value=1, help_text="in cents")
