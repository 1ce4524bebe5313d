"""Antigen self-reports (抗原): daily per household member, by phone page, SMS keyword or staff."""
