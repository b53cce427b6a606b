"""Media types from the bytes: signatures, declared-type checks, files, image sizes."""

from __future__ import annotations

import base64
import io
import os
import struct
import threading
import wave
import zipfile
from pathlib import Path

import pytest

from ailib import ContentBlock, Message
from ailib.errors import InvalidRequestError, MediaError
from ailib.types import media

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + struct.pack(">II", 640, 480) + b"\x08\x02"
JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    + b"\xff\xc0\x00\x11\x08"
    + struct.pack(">HH", 200, 300)  # height, width
    + b"\x03\x01\x22\x00"
)
GIF = b"GIF89a" + struct.pack("<HH", 32, 16) + b"\x00" * 8
WEBP_LOSSY = b"RIFF\x00\x00\x00\x00WEBPVP8 \x00\x00\x00\x00\x00\x00\x00\x9d\x01\x2a" + struct.pack(
    "<HH", 800, 600
)
WEBP_LOSSLESS = b"RIFF\x00\x00\x00\x00WEBPVP8L\x00\x00\x00\x00\x2f" + (
    (100 - 1) | ((50 - 1) << 14)
).to_bytes(4, "little")
WEBP_EXTENDED = b"RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00" + (
    (4000 - 1).to_bytes(3, "little") + (3000 - 1).to_bytes(3, "little")
)
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
FLAC = b"fLaC\x00\x00\x00\x22" + b"\x00" * 20
OGG = b"OggS\x00\x02" + b"\x00" * 22 + b"\x01\x13OpusHead"
MP3_ID3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * 10
MP3_FRAME = b"\xff\xfb\x90\x64" + b"\x00" * 20  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz
ADTS = b"\xff\xf1\x50\x80\x02\x1f\xfc" + b"\x00" * 10
M4A = b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom"
MP4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2mp41"
AIFF = b"FORM\x00\x00\x00\x10AIFFCOMM" + b"\x00" * 10
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm"


def wav(frames: int = 800, rate: int = 16000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(b"\x00\x00" * frames)
    return out.getvalue()


def docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (GIF, "image/gif"),
        (WEBP_LOSSY, "image/webp"),
        (b"BM" + b"\x00" * 30, "image/bmp"),
        (b"II*\x00" + b"\x00" * 8, "image/tiff"),
        (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 8, "image/heic"),
        (PDF, "application/pdf"),
        (wav(), "audio/wav"),
        (MP3_ID3, "audio/mpeg"),
        (MP3_FRAME, "audio/mpeg"),
        (FLAC, "audio/flac"),
        (OGG, "audio/ogg"),
        (ADTS, "audio/aac"),
        (M4A, "audio/mp4"),
        (MP4, "video/mp4"),
        (AIFF, "audio/aiff"),
        (WEBM, "audio/webm"),
        (docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (b"PK\x03\x04garbage", "application/zip"),
        (b"a,b\n1,2\n", "text/plain"),
        ("naïve text".encode(), "text/plain"),
        (b"\x00\x01\x02\x03", None),
        (b"\xff\xff\xff\xff", None),  # frame sync with reserved fields: not audio
        (b"", None),
    ],
)
def test_sniff_reads_the_signature(data: bytes, expected: str | None) -> None:
    assert media.sniff(data) == expected


def test_names_and_aliases() -> None:
    assert media.normalize("Image/JPG") == "image/jpeg"
    assert media.normalize("audio/mp3") == "audio/mpeg"
    assert media.normalize("audio/L16;codec=pcm;rate=24000") == "audio/l16"
    assert media.audio_format("audio/x-wav") == "wav"
    assert media.audio_format("audio/L16;rate=24000") == "pcm16"
    assert media.audio_media_type("MP3") == "audio/mpeg"
    with pytest.raises(MediaError, match="unknown audio format 'mp4a'"):
        media.audio_media_type("mp4a")


@pytest.mark.parametrize(
    ("data", "size"),
    [
        (PNG, (640, 480)),
        (JPEG, (300, 200)),
        (GIF, (32, 16)),
        (WEBP_LOSSY, (800, 600)),
        (WEBP_LOSSLESS, (100, 50)),
        (WEBP_EXTENDED, (4000, 3000)),
        (PDF, None),
        (b"\x89PNG\r\n\x1a\n", None),  # cut short: unknown, not an error
    ],
)
def test_image_size_from_the_header(data: bytes, size: tuple[int, int] | None) -> None:
    assert media.image_size(data) == size


def test_a_declared_type_the_bytes_contradict_is_refused() -> None:
    with pytest.raises(
        MediaError, match="declared 'image/jpeg' but its bytes are 'image/png'"
    ) as info:
        ContentBlock.image_base64(PNG, "image/jpeg")
    assert info.value.media_type == "image/png" and info.value.code == "E1001"
    with pytest.raises(MediaError, match="declared 'audio/mpeg'"):
        ContentBlock.audio(wav(), "mp3")
    with pytest.raises(MediaError, match="'application/pdf'"):
        ContentBlock.document(PDF, "application/vnd.ms-excel")
    with pytest.raises(MediaError, match="not an image"):
        ContentBlock.image_base64(wav())
    with pytest.raises(MediaError, match="not an audio"):
        ContentBlock.audio(PNG)


def test_the_type_comes_from_the_bytes_in_every_form() -> None:
    b64 = base64.b64encode(PNG).decode()
    assert ContentBlock.image_base64(PNG).media_type == "image/png"
    assert ContentBlock.image_base64(b64).media_type == "image/png"
    assert ContentBlock.image_base64(PNG, "image/png").data == b64
    assert ContentBlock.image_url(f"data:image/png;base64,{b64}").media_type == "image/png"
    with pytest.raises(MediaError, match="declared 'image/gif'"):
        ContentBlock.image_url(f"data:image/gif;base64,{b64}")
    assert ContentBlock.audio(base64.b64encode(MP3_ID3).decode()).media_type == "audio/mpeg"
    assert ContentBlock.audio(M4A).media_type == "audio/mp4"
    assert ContentBlock.audio(MP4, "m4a").media_type == "audio/mp4"  # an audio-only MP4
    assert ContentBlock.document(docx()).media_type.endswith("wordprocessingml.document")
    assert ContentBlock.document(b"a,b\n", "text/csv").media_type == "text/csv"
    assert ContentBlock.document(b"notes").media_type == "text/plain"
    raw = ContentBlock.audio(b"\x01\x00\x02\x00", "pcm16")  # no signature: the declaration
    assert raw.media_type == "audio/pcm" and raw.audio_format == "pcm16"


def test_user_with_image_labels_a_png_as_png() -> None:
    message = Message.user_with_image("what?", image_base64=PNG)
    image = message.content[1]
    assert isinstance(image, ContentBlock) and image.media_type == "image/png"
    with pytest.raises(MediaError):
        Message.user_with_image("what?", image_base64=PNG, media_type="image/jpeg")


def test_unknown_bytes_need_a_declared_type() -> None:
    with pytest.raises(MediaError, match="cannot tell what kind of image"):
        ContentBlock.image_base64(b"\x00\x01\x02")
    assert ContentBlock.image_base64(b"\x00\x01\x02", "image/avif").media_type == "image/avif"
    with pytest.raises(MediaError, match="cannot tell what kind of audio"):
        ContentBlock.audio(b"\x00\x01\x02")


def test_files(tmp_path: Path) -> None:
    (tmp_path / "photo.jpg").write_bytes(PNG)  # the name says JPEG, the bytes say PNG
    (tmp_path / "clip.bin").write_bytes(wav())
    (tmp_path / "report").write_bytes(PDF)
    image = ContentBlock.image_file(tmp_path / "photo.jpg", detail="low")
    assert image.media_type == "image/png" and image.detail == "low"
    assert base64.b64decode(image.data or "") == PNG
    clip = ContentBlock.audio_file(str(tmp_path / "clip.bin"))
    assert clip.type == "audio" and clip.media_type == "audio/wav" and clip.audio_format == "wav"
    doc = ContentBlock.document_file(tmp_path / "report")
    assert doc.media_type == "application/pdf" and doc.text_value == "report"
    assert ContentBlock.document_file(tmp_path / "report", title="Q3").text_value == "Q3"
    with pytest.raises(MediaError, match="declared 'image/jpeg'"):
        ContentBlock.image_file(tmp_path / "photo.jpg", media_type="image/jpeg")


def test_file_errors_are_typed_and_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.wav"
    with pytest.raises(MediaError, match="no such audio file") as info:
        ContentBlock.audio_file(missing)
    assert info.value.path == str(missing)
    with pytest.raises(MediaError, match="is a directory"):
        ContentBlock.image_file(tmp_path)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(MediaError, match="is empty"):
        ContentBlock.image_file(tmp_path / "empty.png")
    (tmp_path / "big.wav").write_bytes(wav(frames=5000))
    with pytest.raises(MediaError, match="over the 1,000-byte cap"):
        ContentBlock.audio_file(tmp_path / "big.wav", max_bytes=1000)
    with pytest.raises(MediaError, match="path"):
        ContentBlock.document_file(123)  # type: ignore[arg-type]
    assert issubclass(MediaError, InvalidRequestError)


def test_openai_dicts_carry_audio_both_ways() -> None:
    data = base64.b64encode(wav()).decode()
    part = {"type": "input_audio", "input_audio": {"data": data, "format": "wav"}}
    user = Message.from_dict({"role": "user", "content": [{"type": "text", "text": "hi"}, part]})
    assert isinstance(user.content, list) and user.content[1].media_type == "audio/wav"
    answer = Message.from_dict(
        {"role": "assistant", "content": None, "audio": {"id": "audio_1", "expires_at": 9}}
    )
    assert isinstance(answer.content, list)
    assert answer.content == [ContentBlock.audio_ref("audio_1", expires_at=9)]
    with pytest.raises(InvalidRequestError, match=r"\['audio'\]"):
        Message.from_dict({"role": "assistant", "content": "x", "audio": {"no": "id"}})


def test_audio_answer_counts_as_its_transcript_in_text() -> None:
    turn = Message.assistant([ContentBlock.audio_ref("audio_1", "Hi there")])
    assert turn.text == "Hi there"
    assert Message.user([ContentBlock.audio(wav())]).text == ""
    with pytest.raises(InvalidRequestError):
        ContentBlock.audio_ref("")


def test_block_repr_does_not_dump_the_data() -> None:
    block = ContentBlock.audio(wav(frames=20000))
    assert len(repr(block)) < 300 and "chars" in repr(block)


# ---- hostile and careless input ---------------------------------------------------------------


def _read_in_thread(path: Path) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            ContentBlock.audio_file(path)
        except BaseException as exc:  # handed to the test
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=20)
    return thread, errors


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "clip.wav"
    os.mkfifo(fifo)
    thread, errors = _read_in_thread(fifo)
    if thread.is_alive():  # it blocked in open(): release it before failing
        with open(fifo, "wb"):
            pass
        thread.join(timeout=5)
        pytest.fail("reading a FIFO blocked until a writer came")
    assert len(errors) == 1 and isinstance(errors[0], MediaError)
    assert "not a regular file" in str(errors[0]) and errors[0].path == str(fifo)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_devices_and_symlinks_to_them_are_refused(tmp_path: Path) -> None:
    link = tmp_path / "photo.png"
    link.symlink_to("/dev/zero")
    for path in ("/dev/zero", link):
        with pytest.raises(MediaError, match="not a regular file"):
            ContentBlock.image_file(path)
    real = tmp_path / "real.png"
    real.write_bytes(PNG)
    (tmp_path / "alias.png").symlink_to(real)
    assert ContentBlock.image_file(tmp_path / "alias.png").media_type == "image/png"
    with pytest.raises(MediaError, match="is a directory, not an image file"):
        ContentBlock.image_file(tmp_path)
    with pytest.raises(MediaError, match="cannot read the document file"):
        ContentBlock.document_file("bad\x00name.pdf")


def _mp3_frames(count: int) -> bytes:
    """``count`` MPEG-1 layer III frames (128 kbit/s, 44.1 kHz: 417 bytes each)."""
    return (b"\xff\xfb\x90\x64" + b"\x00" * 413) * count


def test_raw_pcm_is_not_taken_for_an_mp3_frame() -> None:
    # samples -1, 0, 100, 200: bytes ff ff 00 00 ..., a frame sync with a "free" bitrate
    pcm = struct.pack("<4h", -1, 0, 100, 200) * 600
    assert media.sniff(pcm) is None
    assert ContentBlock.audio(pcm, "pcm16").media_type == "audio/pcm"
    # a plausible MP3 header that is not followed by a second frame: not MP3 either
    fake = b"\xff\xfb\x90\x64" + bytes(range(256)) * 8
    assert media.sniff(fake) is None
    assert ContentBlock.audio(fake, "pcm16").media_type == "audio/pcm"
    # real frame streams still are MP3 / AAC, in bytes and in base64 text
    assert media.sniff(_mp3_frames(3)) == "audio/mpeg"
    assert ContentBlock.audio(base64.b64encode(_mp3_frames(3)).decode()).media_type == "audio/mpeg"
    adts = (b"\xff\xf1\x50\x80\x02\x1f\xfc" + b"\x00" * 9) * 3  # 16-byte frames
    assert media.sniff(adts) == "audio/aac"
    # a strong container signature still contradicts raw samples
    with pytest.raises(MediaError, match="declared 'audio/pcm'"):
        ContentBlock.audio(wav(), "pcm16")


def test_a_declared_type_with_a_signature_needs_the_signature() -> None:
    for data in (b"hello, I am text", b"\x00\x01\x02\x03garbage"):
        with pytest.raises(MediaError, match="declared 'image/png' but its bytes do not start"):
            ContentBlock.image_base64(data, "image/png")
    with pytest.raises(MediaError, match="declared 'audio/wav'"):
        ContentBlock.audio(b"RIFX-not-a-wave", "wav")
    with pytest.raises(MediaError, match="declared 'application/pdf'"):
        ContentBlock.document(b"just some text", "application/pdf")
    with pytest.raises(MediaError, match="declared 'image/jpeg'"):
        ContentBlock.image_base64("photo.jpg", "image/jpeg")  # a file name, not base64
    # a few bytes of junk before %PDF- are allowed, as PDF readers do
    assert ContentBlock.document(b"\r\n%PDF-1.4\n", "application/pdf").media_type == (
        "application/pdf"
    )
    # types without a fixed signature keep the declaration (csv, avif, mp3, raw samples)
    assert ContentBlock.document(b"a,b\n", "text/csv").media_type == "text/csv"
    assert ContentBlock.audio(b"\x00\x01\x02\x03", "mp3").media_type == "audio/mpeg"


def test_base64_wrapped_over_lines_is_sniffed_and_sent_bare() -> None:
    wrapped = base64.encodebytes(wav(frames=4000)).decode()  # 76-character lines
    assert "\n" in wrapped[:100]
    block = ContentBlock.audio(wrapped)
    assert block.media_type == "audio/wav" and "\n" not in (block.data or "")
    assert base64.b64decode(block.data or "", validate=True) == wav(frames=4000)
    image = ContentBlock.image_base64(base64.encodebytes(PNG * 20).decode())
    assert image.media_type == "image/png" and "\n" not in (image.data or "")


def test_url_safe_base64_is_sniffed_and_sent_in_the_standard_alphabet() -> None:
    jpeg = JPEG + bytes(range(250, 256)) * 40  # bytes whose base64 holds "+" and "/"
    url_safe = base64.urlsafe_b64encode(jpeg).decode()
    assert "-" in url_safe or "_" in url_safe
    block = ContentBlock.image_base64(url_safe)  # as Google's SDKs write it
    assert block.media_type == "image/jpeg"
    assert block.data == base64.b64encode(jpeg).decode()
    assert ContentBlock.image_base64(url_safe, "image/jpeg").media_type == "image/jpeg"
