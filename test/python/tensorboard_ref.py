"""Reference for test/parity/tensorboard_parity.test.ts: reads a log folder with
TensorBoard's own EventAccumulator (tensorboard.backend.event_processing) and
prints what it holds as JSON: the file version, the tags, every scalar, every
histogram, and every image with its PNG decoded by Pillow (a tensorboard
dependency). Records whose CRC is wrong are dropped by TensorBoard's reader.

usage: tensorboard_ref.py check
usage: tensorboard_ref.py read LOGDIR
"""
import io
import json
import math
import sys

try:
    from tensorboard.backend.event_processing import event_accumulator
    from PIL import Image
except ImportError as e:
    sys.stderr.write(f"TensorBoard's Python package is not importable ({e}); "
                     "install it with: python3 -m pip install tensorboard protobuf\n")
    sys.exit(3)


def main():
    if sys.argv[1] == "check":
        import tensorboard
        print(json.dumps({"tensorboard": tensorboard.__version__}))
        return
    acc = event_accumulator.EventAccumulator(sys.argv[2], size_guidance={
        event_accumulator.SCALARS: 0, event_accumulator.HISTOGRAMS: 0, event_accumulator.IMAGES: 0})
    acc.Reload()
    tags = acc.Tags()
    out = {
        "fileVersion": acc.file_version,
        "tags": {k: sorted(tags[k]) for k in ("scalars", "histograms", "images")},
        "scalars": {t: [{"step": e.step, "value": e.value if math.isfinite(e.value) else str(e.value), "wallTime": e.wall_time} for e in acc.Scalars(t)]
                    for t in tags["scalars"]},
        "histograms": {},
        "images": {},
    }
    for t in tags["histograms"]:
        out["histograms"][t] = [{
            "step": e.step, "min": e.histogram_value.min, "max": e.histogram_value.max,
            "num": e.histogram_value.num, "sum": e.histogram_value.sum, "sumSquares": e.histogram_value.sum_squares,
            "bucketLimit": list(e.histogram_value.bucket_limit), "bucket": list(e.histogram_value.bucket),
        } for e in acc.Histograms(t)]
    for t in tags["images"]:
        items = []
        for e in acc.Images(t):
            img = Image.open(io.BytesIO(e.encoded_image_string))
            img.load()
            items.append({"step": e.step, "width": e.width, "height": e.height, "mode": img.mode,
                          "size": list(img.size), "pixels": list(img.tobytes())})
        out["images"][t] = items
    print(json.dumps(out))


main()
