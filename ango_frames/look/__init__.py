"""Look at the labels: annotations drawn on their images, and masks for segmentation training.

Front-end code over the tidy tables of ``read_export``. Masks and PNG files need numpy only;
drawing needs the ``[plot]`` extra (matplotlib and pillow).
"""

from __future__ import annotations

from ango_frames.look.api import asset_mask, contact_sheet, masks, plot_asset, write_masks
from ango_frames.look.masking import AssetMask

__all__ = ["AssetMask", "asset_mask", "contact_sheet", "masks", "plot_asset", "write_masks"]
