"""A keyframe's picture size, read from its own headers (VP8 frame tag, H264 SPS).

A container's header needs the width and height before the first frame is written, and
the recorder never decodes: these few bit-level reads are all it needs.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator


def frame_size(codec: str, data: bytes) -> tuple[int, int] | None:
    """Width and height from a keyframe's own headers, or None if it has none."""
    if codec == "vp8":
        return _vp8_size(data)
    if codec == "h264":
        sps = next((n for n in _nal_units(data) if n and n[0] & 0x1F == 7), None)
        return _h264_sps_size(sps) if sps is not None else None
    return None


def _vp8_size(data: bytes) -> tuple[int, int] | None:
    # RFC 6386 9.1: a 3-byte frame tag, the start code, then 14-bit width and height.
    if len(data) < 10 or data[0] & 0x01 or data[3:6] != b"\x9d\x01\x2a":
        return None
    width, height = struct.unpack_from("<HH", data, 6)
    return width & 0x3FFF, height & 0x3FFF


def _nal_units(data: bytes) -> Iterator[bytes]:
    # Annex B; a 4-byte start code leaves a zero byte at the end of the previous unit,
    # which is harmless for the SPS fields read here.
    return iter(data.split(b"\x00\x00\x01")[1:])


class _Bits:
    """An H264 RBSP bit reader (emulation prevention bytes removed)."""

    def __init__(self, nal: bytes) -> None:
        rbsp = nal.replace(b"\x00\x00\x03", b"\x00\x00")
        self._value = int.from_bytes(rbsp, "big")
        self._left = len(rbsp) * 8

    def u(self, n: int) -> int:
        if n > self._left:
            raise ValueError("truncated SPS")
        self._left -= n
        return (self._value >> self._left) & ((1 << n) - 1)

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k % 2 else -(k // 2)


_HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})


def _h264_sps_size(sps: bytes) -> tuple[int, int] | None:
    """Picture size from a sequence parameter set (ITU-T H.264 7.3.2.1.1)."""
    try:
        bits = _Bits(sps[1:])
        profile = bits.u(8)
        bits.u(16)  # constraint flags, level
        bits.ue()  # seq_parameter_set_id
        chroma = _skip_high_profile_fields(bits) if profile in _HIGH_PROFILES else 1
        bits.ue()  # log2_max_frame_num_minus4
        _skip_pic_order_cnt(bits)
        bits.ue()  # max_num_ref_frames
        bits.u(1)  # gaps_in_frame_num_value_allowed_flag
        width_mbs, height_units = bits.ue() + 1, bits.ue() + 1
        frame_mbs_only = bits.u(1)
        if not frame_mbs_only:
            bits.u(1)  # mb_adaptive_frame_field_flag
        bits.u(1)  # direct_8x8_inference_flag
        crop = [bits.ue() for _ in range(4)] if bits.u(1) else [0, 0, 0, 0]
    except ValueError:
        return None
    unit_x = 1 if chroma in (0, 3) else 2
    unit_y = (2 if chroma == 1 else 1) * (2 - frame_mbs_only)
    width = width_mbs * 16 - unit_x * (crop[0] + crop[1])
    height = (2 - frame_mbs_only) * height_units * 16 - unit_y * (crop[2] + crop[3])
    return width, height


def _skip_high_profile_fields(bits: _Bits) -> int:
    chroma = bits.ue()
    if chroma == 3:
        bits.u(1)  # separate_colour_plane_flag
    bits.ue()  # bit_depth_luma_minus8
    bits.ue()  # bit_depth_chroma_minus8
    bits.u(1)  # qpprime_y_zero_transform_bypass_flag
    if bits.u(1):  # seq_scaling_matrix_present_flag
        for i in range(12 if chroma == 3 else 8):
            if bits.u(1):
                _skip_scaling_list(bits, 16 if i < 6 else 64)
    return chroma


def _skip_scaling_list(bits: _Bits, size: int) -> None:
    last = following = 8
    for _ in range(size):
        if following:
            following = (last + bits.se() + 256) % 256
        last = following or last


def _skip_pic_order_cnt(bits: _Bits) -> None:
    kind = bits.ue()
    if kind == 0:
        bits.ue()  # log2_max_pic_order_cnt_lsb_minus4
    elif kind == 1:
        bits.u(1)  # delta_pic_order_always_zero_flag
        bits.se()  # offset_for_non_ref_pic
        bits.se()  # offset_for_top_to_bottom_field
        for _ in range(bits.ue()):
            bits.se()  # offset_for_ref_frame
