package preflight

import (
	"bytes"
	"encoding/binary"
	"time"
)

// Formats recognised from a file's first bytes.
const (
	FormatJPEG    = "jpeg"
	FormatPNG     = "png"
	FormatGIF     = "gif"
	FormatWebP    = "webp"
	FormatHEIC    = "heic"
	FormatAVIF    = "avif"
	FormatBMP     = "bmp"
	FormatTIFF    = "tiff"
	FormatMP4     = "mp4"
	FormatMOV     = "mov"
	FormatWebM    = "webm"
	FormatHTML    = "html"
	FormatUnknown = "unknown"
)

// header is what the first bytes of a file say.
type header struct {
	format        string
	width, height int // as displayed (EXIF orientation / track rotation applied)
	brand         string
	duration      time.Duration
	// video: position of moov and mdat among the top-level boxes (-1 when
	// not seen in the bytes read).
	moovAt, mdatAt int
}

// sniff identifies the format and reads the dimensions it can.
func sniff(b []byte) header {
	h := header{format: FormatUnknown, moovAt: -1, mdatAt: -1}
	switch {
	case len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF:
		h.format = FormatJPEG
		h.width, h.height = jpegSize(b)
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		h.format = FormatPNG
		if len(b) >= 24 && string(b[12:16]) == "IHDR" {
			h.width, h.height = int(binary.BigEndian.Uint32(b[16:20])), int(binary.BigEndian.Uint32(b[20:24]))
		}
	case bytes.HasPrefix(b, []byte("GIF87a")) || bytes.HasPrefix(b, []byte("GIF89a")):
		h.format = FormatGIF
		if len(b) >= 10 {
			h.width, h.height = int(binary.LittleEndian.Uint16(b[6:8])), int(binary.LittleEndian.Uint16(b[8:10]))
		}
	case len(b) >= 12 && string(b[0:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		h.format = FormatWebP
	case bytes.HasPrefix(b, []byte("BM")) && len(b) > 26:
		h.format = FormatBMP
	case bytes.HasPrefix(b, []byte("II*\x00")) || bytes.HasPrefix(b, []byte("MM\x00*")):
		h.format = FormatTIFF
	case bytes.HasPrefix(b, []byte{0x1A, 0x45, 0xDF, 0xA3}):
		h.format = FormatWebM
	case len(b) >= 12 && string(b[4:8]) == "ftyp":
		isoBMFF(b, &h)
	case looksHTML(b):
		h.format = FormatHTML
	}
	return h
}

func looksHTML(b []byte) bool {
	t := bytes.ToLower(bytes.TrimSpace(b[:min(len(b), 512)]))
	return bytes.HasPrefix(t, []byte("<!doctype html")) || bytes.HasPrefix(t, []byte("<html")) || bytes.HasPrefix(t, []byte("<head")) || bytes.HasPrefix(t, []byte("<?xml"))
}

// jpegSize walks the JPEG markers to the first start-of-frame; an EXIF
// orientation of 5–8 (rotated a quarter turn) swaps the displayed sides.
func jpegSize(b []byte) (w, h int) {
	i := 2
	rotated := false
	for i+4 <= len(b) {
		if b[i] != 0xFF {
			return 0, 0
		}
		m := b[i+1]
		if m == 0xFF { // fill byte
			i++
			continue
		}
		if m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7) {
			i += 2
			continue
		}
		n := int(binary.BigEndian.Uint16(b[i+2 : i+4]))
		if n < 2 || i+2+n > len(b) {
			return 0, 0
		}
		seg := b[i+4 : i+2+n]
		switch {
		case m == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")):
			rotated = exifRotated(seg[6:])
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			if len(seg) < 5 {
				return 0, 0
			}
			h, w = int(binary.BigEndian.Uint16(seg[1:3])), int(binary.BigEndian.Uint16(seg[3:5]))
			if rotated {
				w, h = h, w
			}
			return w, h
		case m == 0xDA: // start of scan before any frame header
			return 0, 0
		}
		i += 2 + n
	}
	return 0, 0
}

// exifRotated reads IFD0's Orientation tag (0x0112) from a TIFF block.
func exifRotated(t []byte) bool {
	if len(t) < 8 {
		return false
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return false
	}
	off := int(bo.Uint32(t[4:8]))
	if off < 8 || off+2 > len(t) {
		return false
	}
	n := int(bo.Uint16(t[off : off+2]))
	for k := 0; k < n; k++ {
		e := off + 2 + 12*k
		if e+12 > len(t) {
			return false
		}
		if bo.Uint16(t[e:e+2]) == 0x0112 {
			o := bo.Uint16(t[e+8 : e+10])
			return o >= 5 && o <= 8
		}
	}
	return false
}

// isoBMFF reads an ISO base media file (MP4, MOV, HEIC, AVIF): the brand,
// the order of moov and mdat, and from moov the duration (mvhd) and the
// displayed size of the video track (tkhd, rotation applied).
func isoBMFF(b []byte, h *header) {
	h.brand = string(b[8:12])
	switch h.brand {
	case "qt  ":
		h.format = FormatMOV
	case "heic", "heix", "hevc", "heim", "heis", "mif1", "msf1":
		h.format = FormatHEIC
		return
	case "avif", "avis":
		h.format = FormatAVIF
		return
	default:
		h.format = FormatMP4
	}
	pos := 0
	for i := 0; i+8 <= len(b); pos++ {
		size, hdr := boxSize(b[i:])
		switch string(b[i+4 : i+8]) {
		case "moov":
			h.moovAt = pos
			end := len(b)
			if size > 0 && int64(i)+size <= int64(len(b)) {
				end = i + int(size)
			}
			parseMoov(b[i+hdr:end], h)
		case "mdat":
			h.mdatAt = pos
		}
		if size == 0 || size < int64(hdr) || int64(i)+size > int64(len(b)) {
			return // box runs to the end, or past what was read
		}
		i += int(size)
	}
}

// boxSize returns a box's size (0: to the end of the file) and header length.
func boxSize(b []byte) (int64, int) {
	s := int64(binary.BigEndian.Uint32(b[0:4]))
	if s == 1 && len(b) >= 16 {
		return int64(binary.BigEndian.Uint64(b[8:16])), 16
	}
	return s, 8
}

// children calls fn for each child box in b (truncated boxes included).
func children(b []byte, fn func(typ string, body []byte)) {
	for i := 0; i+8 <= len(b); {
		size, hdr := boxSize(b[i:])
		end := len(b)
		if size >= int64(hdr) && int64(i)+size <= int64(len(b)) {
			end = i + int(size)
		}
		if i+hdr > end {
			return
		}
		fn(string(b[i+4:i+8]), b[i+hdr:end])
		if size < int64(hdr) || end == len(b) {
			return
		}
		i = end
	}
}

func parseMoov(b []byte, h *header) {
	children(b, func(typ string, body []byte) {
		switch typ {
		case "mvhd":
			h.duration = mvhdDuration(body)
		case "trak":
			children(body, func(t string, tb []byte) {
				if t != "tkhd" {
					return
				}
				if w, ht := tkhdSize(tb); w*ht > h.width*h.height {
					h.width, h.height = w, ht
				}
			})
		}
	})
}

func mvhdDuration(b []byte) time.Duration {
	if len(b) < 4 {
		return 0
	}
	var scale, dur uint64
	if b[0] == 1 {
		if len(b) < 32 {
			return 0
		}
		scale, dur = uint64(binary.BigEndian.Uint32(b[20:24])), binary.BigEndian.Uint64(b[24:32])
	} else {
		if len(b) < 20 {
			return 0
		}
		scale, dur = uint64(binary.BigEndian.Uint32(b[12:16])), uint64(binary.BigEndian.Uint32(b[16:20]))
	}
	if scale == 0 || dur == 0 || dur == 0xFFFFFFFF || dur == ^uint64(0) {
		return 0
	}
	return time.Duration(float64(dur) / float64(scale) * float64(time.Second))
}

// tkhdSize reads the track's width and height (16.16 fixed point) and
// swaps them when the matrix turns the picture a quarter.
func tkhdSize(b []byte) (w, h int) {
	if len(b) < 4 {
		return 0, 0
	}
	off := 4 + 4 + 4 + 4 + 4 + 4 // version+flags, creation, modification, track id, reserved, duration
	if b[0] == 1 {
		off = 4 + 8 + 8 + 4 + 4 + 8
	}
	off += 8 + 2 + 2 + 2 + 2 // reserved, layer, alternate group, volume, reserved
	if len(b) < off+36+8 {
		return 0, 0
	}
	m := b[off : off+36]
	a, d := int32(binary.BigEndian.Uint32(m[0:4])), int32(binary.BigEndian.Uint32(m[16:20]))
	w = int(binary.BigEndian.Uint32(b[off+36:off+40]) >> 16)
	h = int(binary.BigEndian.Uint32(b[off+40:off+44]) >> 16)
	if a == 0 && d == 0 {
		w, h = h, w
	}
	return w, h
}
