"""The app's own Keras layers, registered so that saved models reload without unsafe mode."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops


@keras.saving.register_keras_serializable(package="playground")
class LocalResponseNormalization(keras.layers.Layer):
    """AlexNet's LRN across channels: x / (bias + alpha * sum_{|d|<=r} x_{c+d}^2) ** beta."""

    def __init__(self, depth_radius: int = 2, bias: float = 2.0, alpha: float = 1e-4,
                 beta: float = 0.75, **kwargs) -> None:
        super().__init__(**kwargs)
        self.depth_radius = int(depth_radius)
        self.bias = float(bias)
        self.alpha = float(alpha)
        self.beta = float(beta)

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        out = tf.nn.local_response_normalization(
            x, depth_radius=self.depth_radius, bias=self.bias, alpha=self.alpha,
            beta=self.beta)
        return ops.cast(out, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(depth_radius=self.depth_radius, bias=self.bias, alpha=self.alpha,
                      beta=self.beta)
        return config


@keras.saving.register_keras_serializable(package="playground")
class ZeroPadChannels(keras.layers.Layer):
    """Pads the channel axis with zeros: ResNet's option-A (parameter-free) shortcut."""

    def __init__(self, pad: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pad = int(pad)

    def call(self, inputs):
        return ops.pad(inputs, [[0, 0], [0, 0], [0, 0], [0, self.pad]])

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], None if input_shape[-1] is None
                else input_shape[-1] + self.pad)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(pad=self.pad)
        return config


CUSTOM_OBJECTS = {
    "playground>LocalResponseNormalization": LocalResponseNormalization,
    "playground>ZeroPadChannels": ZeroPadChannels,
}


@keras.saving.register_keras_serializable(package="playground")
class LayerScale(keras.layers.Layer):
    """ConvNeXt's learned per-channel scale of a residual branch: x * gamma, gamma starting at
    ``init_values`` (tiny, so each block starts close to the identity)."""

    def __init__(self, init_values: float = 1e-6, **kwargs) -> None:
        super().__init__(**kwargs)
        self.init_values = float(init_values)

    def build(self, input_shape) -> None:
        self.gamma = self.add_weight(
            name="gamma", shape=(input_shape[-1],),
            initializer=keras.initializers.Constant(self.init_values), trainable=True)

    def call(self, inputs):
        return inputs * ops.cast(self.gamma, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(init_values=self.init_values)
        return config


@keras.saving.register_keras_serializable(package="playground")
class ScaledAdd(keras.layers.Layer):
    """Inception-ResNet's residual sum with a scaled branch: inputs[0] + scale * inputs[1]."""

    def __init__(self, scale: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.scale = float(scale)

    def build(self, input_shape) -> None:
        first, second = (tuple(s) for s in input_shape)
        if first[1:] != second[1:]:
            raise ValueError(f"ScaledAdd needs two inputs of the same shape, got {first} and "
                             f"{second}")

    def call(self, inputs):
        return inputs[0] + inputs[1] * self.scale

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(scale=self.scale)
        return config


CUSTOM_OBJECTS.update({
    "playground>LayerScale": LayerScale,
    "playground>ScaledAdd": ScaledAdd,
})


@keras.saving.register_keras_serializable(package="playground")
class ChannelShuffle(keras.layers.Layer):
    """ShuffleNet's channel shuffle: reshape the channels to (groups, C / groups), swap the two
    axes, flatten again, so each group of the next grouped convolution sees every group.
    Written with the tensor's own height and width, so the input size can change."""

    def __init__(self, groups: int = 2, **kwargs) -> None:
        super().__init__(**kwargs)
        self.groups = int(groups)

    def call(self, inputs):
        shape = ops.shape(inputs)
        height, width, channels = shape[1], shape[2], shape[3]
        x = ops.reshape(inputs, (-1, height, width, self.groups, channels // self.groups))
        x = ops.transpose(x, (0, 1, 2, 4, 3))
        return ops.reshape(x, (-1, height, width, channels))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(groups=self.groups)
        return config


CUSTOM_OBJECTS["playground>ChannelShuffle"] = ChannelShuffle
