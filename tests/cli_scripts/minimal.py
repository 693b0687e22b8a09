from sacred import Experiment

ex = Experiment("minimal")


@ex.automain
def main():
    print("Hello world!")
