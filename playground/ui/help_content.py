"""The in-app help (F1) as HTML: how to read the canvas, what every block does (from the block
catalogue itself, so it never drifts from what the checker and the compiler do), and the lecture
notes' guidance on transfer learning and data augmentation, tied to the app's controls.

Pure Python (no Qt): the help window only displays what :func:`help_html` returns.
"""

from __future__ import annotations

from html import escape

from playground.blocks import by_category
from playground.blocks.spec import BlockSpec

SECTIONS = (("canvas", "Reading the canvas"), ("blocks", "Blocks"),
            ("transfer", "Transfer learning"), ("augmentation", "Data augmentation"),
            ("training", "Training panel"))

CANVAS = """
<p>Each box is one layer (or a composite block of several). Data flows left to right; long
networks wrap into rows like lines of text, and the edge from the end of one row to the start of
the next runs through the gap between the rows.</p>
<ul>
<li><b>Header</b>: the block type, in its category's colour (the palette on the left uses the
same colours). <b>&times;8</b> at the right of a composite's header: the Keras layers inside it
(right click &gt; <i>Expand into layers</i> shows them as nodes).</li>
<li><b>First line</b>: the node's id, which is also the Keras layer name.</li>
<li><b>Second line</b>: its key parameters, e.g. <code>64 @ 3x3 /2 same relu</code> = 64 filters
of 3&times;3, stride 2, "same" padding, ReLU; an inception module lists its branch widths
<code>1x1 | reduce&gt;3x3 | reduce&gt;5x5 | pool projection</code>.</li>
<li><b>Footer</b>: <code>&rarr; 56&times;56&times;64</code> is the output shape per sample
(height &times; width &times; channels); at the right the parameter count (View &gt; Parameter
counts on nodes).</li>
<li><b>Edges</b> carry the tensor shape that flows along them (View &gt; Tensor shapes on
edges).</li>
<li><b>Red outline</b>: the node has an error (the Problems panel says which and often offers a
<i>Fix</i>); <b>amber</b> text: a warning. <b>Lock and hatching</b>: the layer is frozen (its
weights do not train); click the lock to toggle.</li>
<li><b>Bar under a node</b> (after training): its gradient norm relative to the largest, green to
red by the share of dead ReLUs, blue where the node has none; the tooltip gives the figures.</li>
<li>The status bar totals the graph: parameters (trainable), multiply-accumulates per sample,
activation memory, and whether the graph is valid.</li>
</ul>
<p>Wheel: zoom around the cursor. Middle drag or Space+drag: pan. Drag from an output port (right)
to an input port (left) to connect. Ctrl+0 fits the graph to the window; Ctrl+Shift+A lays it out
again.</p>
"""

TRANSFER = """
<p>Features learned on a huge dataset (ImageNet: 1.2 million images) are generic, especially in
the early layers: keep them and re-train the later layers for your problem. How much to re-train
depends on how much data you have and how similar it is to the source data:</p>
<table border="1" cellspacing="0" cellpadding="6">
<tr><th></th><th>very similar dataset</th><th>very different dataset</th></tr>
<tr><th>very little data</th><td>use a linear classifier on the top layer</td>
<td>you're in trouble: try linear classifiers from different stages</td></tr>
<tr><th>a lot of data</th><td>fine-tune a few layers</td>
<td>fine-tune a larger number of layers</td></tr>
</table>
<ul>
<li>The more similar your data is to the source data, the less fine-tuning is needed (a network
trained on ImageNet already tells dog breeds apart, so dogs vs cats needs little).</li>
<li>The more data you have, the more the network benefits from longer and deeper fine-tuning
(100 images per class: very little; 10,000: deeper).</li>
<li>If your data is substantially different in nature (typed Latin letters vs photos of cats),
transfer learning may be of little value.</li>
</ul>
<p><b>In the app</b>: open a preset with a <code>keras.applications</code> twin (VGG-16/19,
ResNet-50, MobileNet, DenseNet-121), Edit &gt; Retarget to your input size and class count, tick
<i>ImageNet</i> under <i>Initial weights</i> in the Training panel (or give a .keras/.h5 file or
an earlier run), then <i>Freeze feature extractor</i> (only the head trains) or right click a
node &gt; <i>Freeze everything up to here</i> (fine-tune the rest), and use <i>Fine-tuning
preset</i> for a learning rate ten times smaller. Frozen layers without initial weights keep
their random values: the panel says so before it trains.</p>
"""

AUGMENTATION = """
<p>More data makes a deep network better; augmentation creates more training examples from the
ones you have by transforming each image so that its label stays the same. It reduces
overfitting, improves generalisation and acts as a regulariser.</p>
<ul>
<li><b>Mirroring</b>: only if it preserves what you classify (not for digits or text).</li>
<li><b>Random cropping</b>: a wrong crop can cut the object away; keep the crops big enough.</li>
<li><b>Translation, rotation, zoom</b>: small amounts (10%) keep the label.</li>
<li><b>Colour shifting</b>: small random shifts of R, G and B make the model robust to lighting
and camera filters (PCA colour augmentation picks the shifts per channel).</li>
<li><b>Cutout</b> (random erasing): the model cannot rely on one small region.</li>
<li>Augmentation has hyperparameters too (how far to crop, how strong a colour shift): start
from a known implementation's values and tune from there. Distorted batches are produced while
the model trains (here: on the fly, in the input pipeline).</li>
</ul>
<p><b>In the app</b>: tick the augmentations in the Training panel; <i>Data preview</i> shows
sixteen samples and the same after the chosen augmentation, so you can check that the label
still holds. Available: {available}.</p>
"""

TRAINING = """
<p><i>Train</i> starts a run on the chosen dataset (the built-in digits work offline);
<i>Stop</i> ends it after the current batch and keeps the weights; <i>Resume</i> continues the
last run from its checkpoint. The plots show loss, accuracy and learning rate per batch
(smoothed) and per epoch; the Log tab has one line per epoch; the Evaluation tab the confusion
matrix, per-class accuracy and the most confidently wrong samples; the Runs tab earlier runs to
overlay on the plots or to start from. A preset brings its paper's training recipe (optimizer,
learning rate, schedule); <i>Defaults from the graph</i> restores it.</p>
"""


def _param_text(spec: BlockSpec) -> str:
    rows = []
    for p in spec.params:
        default = "" if p.default is None else f" (default <code>{escape(repr(p.default))}"\
                                                 "</code>)"
        choices = (" one of " + ", ".join(f"<code>{escape(str(c))}</code>" for c in p.choices)
                   if p.choices else "")
        rows.append(f"<li><code>{escape(p.name)}</code>{default}{choices}"
                    + (f": {escape(p.help)}" if p.help else "") + "</li>")
    return f"<ul>{''.join(rows)}</ul>" if rows else ""


def blocks_html() -> str:
    parts = []
    for category, specs in by_category().items():
        parts.append(f"<h3>{escape(category.capitalize())}</h3>")
        for spec in specs:
            inputs = spec.arity_text() if hasattr(spec, "arity_text") else ""
            parts.append(f"<p><a name='block-{escape(spec.type)}'></a><b>{escape(spec.label)}"
                         f"</b> <code>{escape(spec.type)}</code>"
                         + (f" &mdash; {escape(inputs)}" if inputs else "") + "<br>"
                         + escape(spec.help or "") + "</p>" + _param_text(spec))
    return "".join(parts)


def help_html(available_augmentations: dict[str, str] | None = None) -> str:
    """The whole help page: contents, then every section with an anchor of its key."""
    augment = available_augmentations or {}
    available = ", ".join(f"<b>{escape(k)}</b> ({escape(v)})" for k, v in augment.items()) \
        or "see the Training panel"
    body = {"canvas": CANVAS, "blocks": blocks_html(), "transfer": TRANSFER,
            "augmentation": AUGMENTATION.format(available=available), "training": TRAINING}
    toc = " &middot; ".join(f"<a href='#{key}'>{title}</a>" for key, title in SECTIONS)
    sections = "".join(f"<h2><a name='{key}'></a>{title}</h2>{body[key]}"
                       for key, title in SECTIONS)
    return f"<h1>Keras Architecture Playground: help</h1><p>{toc}</p>{sections}"
