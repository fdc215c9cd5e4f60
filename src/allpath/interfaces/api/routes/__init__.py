"""One module per resource; handlers stay thin and call the repository."""
