import { describe, expect, it } from '@jest/globals';
import { looksLikeMp3 } from '../src/mp3-sniffer.js';

const frame = (b1: number, b2: number, length: number) => {
  const buf = Buffer.alloc(length);
  buf[0] = 0xff;
  buf[1] = b1;
  buf[2] = b2;
  return buf;
};

describe('looksLikeMp3', () => {
  it('accepts an ID3v2 tag', () => {
    expect(looksLikeMp3(Buffer.from([0x49, 0x44, 0x33, 3, 0, 0, 0, 0, 0x10, 0x00, 0xff]))).toBe(true);
  });

  it('accepts two consecutive MPEG-1 Layer III frames', () => {
    // 128 kbit/s, 44.1 kHz → 417-byte frames
    const first = frame(0xfb, 0x90, 417);
    expect(looksLikeMp3(Buffer.concat([first, frame(0xfb, 0x90, 417)]))).toBe(true);
  });

  it('refuses a frame header not followed by another frame', () => {
    expect(looksLikeMp3(Buffer.concat([frame(0xfb, 0x90, 417), Buffer.alloc(100, 0x41)]))).toBe(false);
  });

  it('refuses Layer II, reserved rates, PNG, text and ID3-lookalikes', () => {
    expect(looksLikeMp3(frame(0xfd, 0x90, 1000))).toBe(false); // layer II
    expect(looksLikeMp3(frame(0xfb, 0xf0, 1000))).toBe(false); // bitrate index 15
    expect(looksLikeMp3(Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'))).toBe(false);
    expect(looksLikeMp3(Buffer.from('#!/bin/sh\nrm -rf /\n'))).toBe(false);
    expect(looksLikeMp3(Buffer.from('ID3 is a tag format, this is text'))).toBe(false);
  });
});
