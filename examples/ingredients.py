#!/usr/bin/env python
"""
An experiment that uses an ingredient: the ``dataset`` ingredient from
``ingredients_dataset.py`` brings its own configuration, captured function and
command. Its configuration appears as an entry of the experiment's::

    $ ./ingredients.py print_config
    INFO - my_experiment - Running command 'print_config'
    INFO - my_experiment - Started
    Configuration (modified, added, typechanged, doc):
      seed = <any>  # the random seed for this experiment
      dataset:
        filename = 'my_dataset.json'  # a JSON list of numbers
        normalize = True              # subtract the mean
    INFO - my_experiment - Completed after 0:00:00

Its entries can be set from the command line, and its command is called with
dotted notation::

    $ ./ingredients.py dataset.stats -l WARNING
    WARNING - my_experiment - No observers have been added to this run
    Statistics for dataset "my_dataset.json":
    mean = 13.37
    $ ./ingredients.py with dataset.normalize=False -l WARNING
    WARNING - my_experiment - No observers have been added to this run
    Loaded 4 values, first is 10.0
"""

from ingredients_dataset import data_ingredient, load_data

from sacred import Experiment

ex = Experiment("my_experiment", ingredients=[data_ingredient])


@ex.capture
def report(dataset):  # the ingredient's config, by its name
    return dataset["normalize"]


@ex.automain
def run():
    data = load_data()  # just use the function
    print(f"Loaded {len(data)} values, first is {data[0]}")
    return report()
