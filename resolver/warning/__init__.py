"""The warning page: what a person sees when fraudwall blocked a name."""
