from django.apps import AppConfig


class CollectionConfig(AppConfig):
    name = "tenants.collection"
    label = "collection"
    verbose_name = "Collection of numbers from people"
