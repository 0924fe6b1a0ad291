"""The offline end-to-end demo: does the perception reward help? (``perceptrl demo``)

>>> from perceptrl.demo import DemoConfig, run_demo
>>> run = run_demo(DemoConfig.quick(), "runs/demo-quick")  # doctest: +SKIP
"""

from perceptrl.demo.config import DemoConfig

__all__ = ["DemoConfig", "run_demo"]


def __getattr__(name):  # torch/trl imports only when the demo runs
    if name == "run_demo":
        from perceptrl.demo.run import run_demo

        return run_demo
    raise AttributeError(name)
