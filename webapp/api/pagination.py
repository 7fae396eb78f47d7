from __future__ import annotations

from rest_framework.pagination import PageNumberPagination


class PetriPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000
