"""The one error type ``bertclf`` raises for bad input."""


class BertclfError(ValueError):
    """Bad input or state: the message names the problem and the fix.

    The command line prints it as one line and exits with status 2.
    """


class TrainingDiverged(BertclfError):
    """The loss became NaN or infinite; the message names the step and the last checkpoint."""
