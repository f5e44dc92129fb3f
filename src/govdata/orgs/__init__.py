"""Organisations (组织机构): city departments, district/county governments and their departments, townships."""
