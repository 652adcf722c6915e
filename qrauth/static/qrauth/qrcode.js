/* A QR code encoder for the QR page: byte mode, level M, fixed mask 2.
 *
 * The server sends only each frame's text and the page draws it, so this
 * must build exactly the matrix that qrauth/qr.py gets from the `qrcode`
 * package (tests/test_qrcode_js.py compares them module for module).
 * A classic script with no dependencies: it sets window.QRAuthEncoder, and
 * under Node it is also module.exports.
 */
(function (root) {
  "use strict";

  const QUIET_ZONE = 4; // modules of white around the code, as the standard asks
  const MODE_BYTE = 0b0100;
  const FORMAT_M_MASK_2 = 0b00010; // level M is 00 in the format bits, then mask 010

  // Level M, by version (index 0 unused), from the spec's tables: data
  // codewords in all, blocks, and error correction codewords per block.
  const DATA_CODEWORDS = [0,
    16, 28, 44, 64, 86, 108, 124, 154, 182, 216, 254, 290, 334, 365, 415, 453, 507, 563, 627,
    669, 714, 782, 860, 914, 1000, 1062, 1128, 1193, 1267, 1373, 1455, 1541, 1631, 1725, 1812,
    1914, 1992, 2102, 2216, 2334];
  const BLOCKS = [0,
    1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25,
    26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49];
  const EC_PER_BLOCK = [0,
    10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28,
    28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28];

  // GF(256) over x^8 + x^4 + x^3 + x^2 + 1; EXP is doubled so that a
  // product needs no modulo.
  const EXP = new Uint8Array(512);
  const LOG = new Uint8Array(256);
  for (let i = 0, x = 1; i < 255; i++, x = x & 0x80 ? (x << 1) ^ 0x11d : x << 1) {
    EXP[i] = EXP[i + 255] = x;
    LOG[x] = i;
  }

  function gfMultiply(a, b) {
    return a && b ? EXP[LOG[a] + LOG[b]] : 0;
  }

  function byteCapacity(version) {
    const lengthBits = version < 10 ? 8 : 16;
    return Math.floor((DATA_CODEWORDS[version] * 8 - 4 - lengthBits) / 8);
  }

  function smallestVersion(byteCount) {
    for (let version = 1; version <= 40; version++) {
      if (byteCount <= byteCapacity(version)) return version;
    }
    throw new Error(
      `${byteCount} bytes do not fit in a QR code: version 40-M holds at most ${byteCapacity(40)}`
    );
  }

  // Mode, length, data, then as the spec says: a terminator of up to four
  // zero bits, zeros to the byte boundary, and alternating pad bytes.
  function dataCodewords(bytes, version) {
    const bitLimit = DATA_CODEWORDS[version] * 8;
    const bits = [];
    const put = (value, length) => {
      for (let i = length - 1; i >= 0; i--) bits.push((value >>> i) & 1);
    };
    put(MODE_BYTE, 4);
    put(bytes.length, version < 10 ? 8 : 16);
    bytes.forEach((byte) => put(byte, 8));
    put(0, Math.min(4, bitLimit - bits.length));
    put(0, (8 - (bits.length % 8)) % 8);
    const codewords = [];
    for (let i = 0; i < bits.length; i += 8) {
      codewords.push(bits.slice(i, i + 8).reduce((byte, bit) => (byte << 1) | bit, 0));
    }
    for (let pad = 0xec; codewords.length < bitLimit / 8; pad ^= 0xec ^ 0x11) {
      codewords.push(pad);
    }
    return codewords;
  }

  // The generator polynomial (x - a^0)(x - a^1)...(x - a^(degree-1)),
  // highest power first.
  function rsGenerator(degree) {
    let poly = [1];
    for (let i = 0; i < degree; i++) {
      const next = new Array(poly.length + 1).fill(0);
      poly.forEach((coefficient, j) => {
        next[j] ^= coefficient;
        next[j + 1] ^= gfMultiply(coefficient, EXP[i]);
      });
      poly = next;
    }
    return poly;
  }

  // The remainder of data * x^degree divided by the generator: the block's
  // error correction codewords (polynomial long division, one byte a step).
  function rsRemainder(data, generator) {
    const remainder = new Array(generator.length - 1).fill(0);
    for (const byte of data) {
      const factor = byte ^ remainder.shift();
      remainder.push(0);
      remainder.forEach((_, i) => {
        remainder[i] ^= gfMultiply(generator[i + 1], factor);
      });
    }
    return remainder;
  }

  function interleave(blocks) {
    const out = [];
    const longest = Math.max(...blocks.map((block) => block.length));
    for (let i = 0; i < longest; i++) {
      for (const block of blocks) if (i < block.length) out.push(block[i]);
    }
    return out;
  }

  // Split into blocks (the last ones one codeword longer when the data does
  // not divide evenly), add each block's ECC, interleave data then ECC.
  function withErrorCorrection(data, version) {
    const count = BLOCKS[version];
    const generator = rsGenerator(EC_PER_BLOCK[version]);
    const shortLength = Math.floor(data.length / count);
    const firstLong = count - (data.length % count);
    const blocks = [];
    for (let b = 0, offset = 0; b < count; b++) {
      const length = shortLength + (b >= firstLong ? 1 : 0);
      blocks.push(data.slice(offset, (offset += length)));
    }
    const ecc = blocks.map((block) => rsRemainder(block, generator));
    return interleave(blocks).concat(interleave(ecc));
  }

  // value followed by its BCH check bits: the remainder of value * x^degree
  // divided by poly (a polynomial over GF(2) of that degree).
  function bchCode(value, poly, degree) {
    let remainder = value << degree;
    for (let bit = 31 - Math.clz32(remainder); bit >= degree; bit--) {
      if ((remainder >>> bit) & 1) remainder ^= poly << (bit - degree);
    }
    return (value << degree) | remainder;
  }

  function placeFinder(grid, top, left) {
    // The 7x7 pattern plus its one-module light separator, clipped to the grid.
    for (let r = -1; r <= 7; r++) {
      for (let c = -1; c <= 7; c++) {
        const row = top + r;
        const col = left + c;
        if (row < 0 || col < 0 || row >= grid.length || col >= grid.length) continue;
        const ring = Math.max(Math.abs(r - 3), Math.abs(c - 3));
        grid[row][col] = ring !== 2 && ring !== 4;
      }
    }
  }

  // Centres of the alignment patterns on each axis: 6, then evenly spaced
  // back from the far edge (an even step; version 32's is the odd one out
  // of the simple formula, which this one absorbs).
  function alignmentCentres(version, size) {
    if (version === 1) return [];
    const count = Math.floor(version / 7) + 2;
    const step = Math.floor((version * 8 + count * 3 + 5) / (count * 4 - 4)) * 2;
    const centres = [6];
    for (let pos = size - 7; centres.length < count; pos -= step) centres.splice(1, 0, pos);
    return centres;
  }

  function placeAlignment(grid, row, col) {
    for (let r = -2; r <= 2; r++) {
      for (let c = -2; c <= 2; c++) {
        grid[row + r][col + c] = Math.max(Math.abs(r), Math.abs(c)) !== 1;
      }
    }
  }

  // Where the 15 format bits go, least significant first: down column 8
  // and along row 8, skipping the timing patterns; qrcode's layout.
  function placeFormat(grid) {
    const size = grid.length;
    const bits = bchCode(FORMAT_M_MASK_2, 0b10100110111, 10) ^ 0b101010000010010;
    for (let i = 0; i < 15; i++) {
      const dark = ((bits >>> i) & 1) === 1;
      grid[i < 6 ? i : i < 8 ? i + 1 : size - 15 + i][8] = dark;
      grid[8][i < 8 ? size - 1 - i : i === 8 ? 7 : 14 - i] = dark;
    }
    grid[size - 8][8] = true; // the dark module the spec always sets
  }

  // 18 bits of version information, in the two 6x3 blocks by the
  // top-right and bottom-left finders (versions 7 and up).
  function placeVersion(grid, version) {
    const size = grid.length;
    const bits = bchCode(version, 0b1111100100101, 12);
    for (let i = 0; i < 18; i++) {
      const dark = ((bits >>> i) & 1) === 1;
      grid[Math.floor(i / 3)][size - 11 + (i % 3)] = dark;
      grid[size - 11 + (i % 3)][Math.floor(i / 3)] = dark;
    }
  }

  // Everything but the data: null marks the modules left for data.
  function functionPatterns(version) {
    const size = version * 4 + 17;
    const grid = Array.from({ length: size }, () => new Array(size).fill(null));
    placeFinder(grid, 0, 0);
    placeFinder(grid, size - 7, 0);
    placeFinder(grid, 0, size - 7);
    const centres = alignmentCentres(version, size);
    for (const row of centres) {
      for (const col of centres) if (grid[row][col] === null) placeAlignment(grid, row, col);
    }
    for (let i = 8; i < size - 8; i++) {
      if (grid[i][6] === null) grid[i][6] = i % 2 === 0;
      if (grid[6][i] === null) grid[6][i] = i % 2 === 0;
    }
    placeFormat(grid);
    if (version >= 7) placeVersion(grid, version);
    return grid;
  }

  // Two-column strips from the right, going up then down, skipping the
  // vertical timing column; the remainder modules after the last codeword
  // are light. Mask 2 darkens/lightens every third column.
  function placeData(grid, codewords) {
    const size = grid.length;
    let bit = 0;
    let upward = true;
    for (let right = size - 1; right > 0; right -= 2) {
      if (right === 6) right = 5;
      for (let step = 0; step < size; step++) {
        const row = upward ? size - 1 - step : step;
        for (const col of [right, right - 1]) {
          if (grid[row][col] !== null) continue;
          const byte = codewords[bit >>> 3];
          const dark = byte !== undefined && ((byte >>> (7 - (bit & 7))) & 1) === 1;
          grid[row][col] = dark !== (col % 3 === 0);
          bit++;
        }
      }
      upward = !upward;
    }
  }

  function matrix(text) {
    const bytes = Array.from(new TextEncoder().encode(text));
    const version = smallestVersion(bytes.length);
    const grid = functionPatterns(version);
    placeData(grid, withErrorCorrection(dataCodewords(bytes, version), version));
    return grid;
  }

  // The canvas keeps its on-screen width (from the page's CSS, else its width
  // attribute: a hidden canvas has no laid-out width), at most the width of
  // the box it is in (a small phone, a page zoomed in: no sideways
  // scrolling); its bitmap gets devicePixelRatio pixels per CSS pixel so the
  // edges stay sharp, and a whole number of pixels per module. The pixels
  // left over widen the margin, which is white: the quiet zone is drawn,
  // not left to the page's background (a dark page would eat it).
  function draw(canvas, text, options) {
    const { pixelRatio = root.devicePixelRatio || 1 } = options || {};
    const modules = matrix(text);
    const side = modules.length + 2 * QUIET_ZONE;
    const styled = root.getComputedStyle(canvas).width;
    const room = canvas.parentElement ? canvas.parentElement.clientWidth : 0;
    const wanted = styled.endsWith("px") ? parseFloat(styled) : canvas.width;
    const cssWidth = room > 0 ? Math.min(wanted, room) : wanted;
    const pixels = Math.max(side, Math.floor(cssWidth * pixelRatio));
    const scale = Math.floor(pixels / side);
    const margin = Math.floor((pixels - side * scale) / 2) + QUIET_ZONE * scale;
    // Pin the CSS size, or a bigger bitmap would make the canvas bigger.
    canvas.style.width = canvas.style.height = `${cssWidth}px`;
    canvas.width = canvas.height = pixels;
    const context = canvas.getContext("2d");
    context.fillStyle = "#fff";
    context.fillRect(0, 0, pixels, pixels);
    context.fillStyle = "#000";
    modules.forEach((row, y) => {
      row.forEach((dark, x) => {
        if (dark) context.fillRect(margin + x * scale, margin + y * scale, scale, scale);
      });
    });
  }

  const QRAuthEncoder = { matrix, draw };
  root.QRAuthEncoder = QRAuthEncoder;
  if (typeof module === "object" && module.exports) module.exports = QRAuthEncoder;
})(globalThis);
