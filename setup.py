"""stylegan-tf: NVIDIA's StyleGAN (v1) and ProGAN for TensorFlow 2 / Keras 3."""
from setuptools import find_packages, setup

setup(
    name="stylegan-tf",
    version="0.1.0",
    description="StyleGAN v1 / ProGAN for TensorFlow 2 and Keras 3, compatible with the official network pickles",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10,<3.14",
    packages=find_packages(include=["stylegan_tf*", "dnnlib*", "training*", "metrics*", "cli*"]),
    package_data={"training": ["data/*/*"]},
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "keras>=3.10,<4",
        "numpy>=1.26,<3",
        "pillow>=10,<14",
        "absl-py>=2.1,<3",
        "tensorboard>=2.21,<2.22",
    ],
    extras_require={
        "test": ["pytest>=8,<10", "matplotlib>=3.8,<4"],
        "plot": ["matplotlib>=3.8,<4"],
        "lsun": ["lmdb>=1.4,<2"],
    },
    entry_points={
        "console_scripts": [
            "stylegan-train=cli.train:run_main",
            "stylegan-generate=cli.generate:run_main",
            "stylegan-export=cli.export:run_main",
            "stylegan-convert=cli.convert:run_main",
            "stylegan-dataset=cli.dataset:run_main",
            "stylegan-bench=cli.bench:run_main",
            "stylegan-metrics=cli.metrics:run_main",
            "stylegan-quality=cli.quality:run_main",
            "stylegan-project=cli.project:run_main",
        ],
    },
)
