"""The benchmark's figure: one panel per metric, one row per method."""
import matplotlib.image as mpimg

from wkd_det.visualization import plot_method_comparison


def test_method_comparison_figure(tmp_path):
    panels = {metric: {'student alone': [0.50, 0.52, 0.51],
                       'WKD-L+F': [0.55, 0.56, 0.54], 'KD @tau1': [0.49]}
              for metric in ('bbox mAP', 'mAP50')}
    references = {'bbox mAP': {'teacher': 0.60, 'student alone': 0.51}}
    out = tmp_path / 'three.png'
    plot_method_comparison(panels, references, str(out), title='pair')
    three = mpimg.imread(out)
    # a row per method: more methods, a taller figure of the same width
    panels = {m: dict(v, **{f'method {i}': [0.5] for i in range(6)})
              for m, v in panels.items()}
    plot_method_comparison(panels, references, str(tmp_path / 'nine.png'))
    nine = mpimg.imread(tmp_path / 'nine.png')
    assert nine.shape[1] == three.shape[1] and nine.shape[0] > three.shape[0]
    # one panel per metric: a single metric halves the width
    plot_method_comparison({'bbox mAP': panels['bbox mAP']}, references,
                           str(tmp_path / 'one.png'))
    assert mpimg.imread(tmp_path / 'one.png').shape[1] < three.shape[1] * 0.6
