"""What a category notebook calls: the helper, the notebook template and the plots."""
