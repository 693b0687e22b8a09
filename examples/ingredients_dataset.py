"""The ``dataset`` ingredient used by ``ingredients.py`` (see its docstring)."""

import json

from sacred import Ingredient

data_ingredient = Ingredient("dataset")


@data_ingredient.config
def cfg():
    filename = "my_dataset.json"  # a JSON list of numbers
    normalize = True  # subtract the mean


@data_ingredient.capture
def load_data(filename, normalize):
    with open(filename) as f:
        data = json.load(f)
    if normalize:
        mean = sum(data) / len(data)
        data = [x - mean for x in data]
    return data


@data_ingredient.command
def stats(filename):
    """Print statistics of the dataset."""
    with open(filename) as f:
        data = json.load(f)
    print(f'Statistics for dataset "{filename}":')
    print(f"mean = {sum(data) / len(data):0.2f}")
