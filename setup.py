"""Install wkd_det: Wasserstein knowledge distillation for MMDetection 3.x."""
import os.path as osp

from setuptools import find_packages, setup


def read_version():
    namespace = {}
    with open(osp.join(osp.dirname(__file__), 'wkd_det', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


setup(
    name='wkd_det',
    version=read_version(),
    description='Wasserstein knowledge distillation (WKD-L, WKD-F) and '
    'baselines for MMDetection 3.x detectors',
    long_description=open('README.md').read() if osp.exists('README.md') else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['wkd_det', 'wkd_det.*']),
    python_requires='>=3.8',
    install_requires=[
        'torch',
        'mmengine>=0.10.0,<0.11.0',
        'mmcv>=2.1.0,<2.2.0',
        'mmdet>=3.3.0,<3.4.0',
        'pycocotools',
        'scikit-learn',
    ],
    extras_require={
        'dev': ['pytest>=7.3', 'ruff'],
    },
    license='Apache-2.0',
    zip_safe=False,
)
