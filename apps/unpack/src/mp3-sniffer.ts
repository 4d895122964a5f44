/** Bytes the sniffer wants to see: an ID3v2 header, or two MPEG audio frame headers. */
export const SNIFF_BYTES = 4096;

const BITRATES_KBPS: Record<string, number[]> = {
  // [version][layer] → bitrate index table (layer III only; layers I/II are not "MP3")
  v1: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  v2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};
const SAMPLE_RATES: Record<number, number[]> = {
  3: [44100, 48000, 32000],
  2: [22050, 24000, 16000],
  0: [11025, 12000, 8000],
};

/** Length of the MPEG-1/2/2.5 Layer III frame starting at `offset`, or 0 when no valid header is there. */
function layer3FrameLength(buf: Buffer, offset: number): number {
  if (offset + 4 > buf.length) return 0;
  const b1 = buf[offset + 1]!;
  const b2 = buf[offset + 2]!;
  if (buf[offset] !== 0xff || (b1 & 0xe0) !== 0xe0) return 0;
  const version = (b1 >> 3) & 0x03; // 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5, 1 = reserved
  const layer = (b1 >> 1) & 0x03; // 1 = Layer III
  if (version === 1 || layer !== 1) return 0;
  const bitrateIndex = b2 >> 4;
  const rateIndex = (b2 >> 2) & 0x03;
  if (bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) return 0;
  const bitrate = BITRATES_KBPS[version === 3 ? 'v1' : 'v2']![bitrateIndex]! * 1000;
  const sampleRate = SAMPLE_RATES[version]![rateIndex]!;
  const padding = (b2 >> 1) & 0x01;
  return Math.floor(((version === 3 ? 144 : 72) * bitrate) / sampleRate) + padding;
}

/**
 * Whether a file's first bytes are an MP3: an ID3v2 tag, or an MPEG Layer III frame header followed by
 * a second one where the first frame ends (or the end of what we have). The extension never decides;
 * a file that passes here but cannot be decoded fails later, alone, at conversion.
 */
export function looksLikeMp3(head: Buffer): boolean {
  if (head.length >= 10 && head.toString('latin1', 0, 3) === 'ID3') {
    const version = head[3]!;
    const sizeBytesValid = [6, 7, 8, 9].every((i) => head[i]! < 0x80);
    return version >= 2 && version <= 4 && head[4] !== 0xff && sizeBytesValid;
  }
  const length = layer3FrameLength(head, 0);
  if (length === 0) return false;
  if (length + 4 > head.length) return true;
  return layer3FrameLength(head, length) > 0;
}
