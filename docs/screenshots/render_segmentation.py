"""Render the README's segmentation screenshot: a one-level U-Net trained from the Training tab
on the built-in ``shapes`` set (shapes on noise with their masks), then a held-out sample in the
Predict dock with the predicted mask over it and the class legend.

    python docs/screenshots/render_segmentation.py [docs/screenshots/segmentation.png]

Runs go to a temporary folder; the window is the real one, offscreen.
"""

from __future__ import annotations

import sys

from shots import ROOT, first_start_window, save_and_exit, train, wait


def main(out: str) -> int:
    from playground.presetgen.unet import small_unet
    from playground.training.config import RunConfig, config_for_graph

    opened = first_start_window((1400, 900))
    if opened is None:
        return 1
    app, window = opened
    graph = small_unet(32, 1, 16, 2)
    window.doc.set_graph(graph, None)
    panel = window.training_panel
    panel.set_config(RunConfig.from_dict({"dataset": "shapes", "epochs": 25,
                                          "optimizer": "adam", "lr": 0.005},
                                         base=config_for_graph(graph)))
    if not train(app, window):
        return 1
    view = window.predict_view
    window.predict_dock.show()
    window.predict_dock.raise_()
    wait(app, view.on_screen, 10)
    view.use_last_run()
    if not wait(app, lambda: view.loaded is not None and not view.busy, 120):
        print("error: the run's model did not load in the Predict dock", file=sys.stderr)
        return 1
    view.pick_sample(7)
    if not wait(app, lambda: view.mask is not None and not view.busy, 120):
        print("error: no mask was predicted", file=sys.stderr)
        return 1
    wait(app, lambda: False, 0.5)
    iou = panel.last_result.history[-1].get("val_mean_iou")
    return save_and_exit(window, out, f"mask over shapes sample 7 (val mean IoU {iou:.3f})")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1
                  else str(ROOT / "docs" / "screenshots" / "segmentation.png")))
