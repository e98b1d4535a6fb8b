/// @file
/// Umbrella header for the cuzarr C++ API.
#pragma once

#include "cuzarr/array.hpp"
#include "cuzarr/buffer.hpp"
#include "cuzarr/config.hpp"
#include "cuzarr/dtype.hpp"
#include "cuzarr/error.hpp"
#include "cuzarr/icechunk.hpp"
#include "cuzarr/manifest.hpp"
#include "cuzarr/selection.hpp"
#include "cuzarr/store.hpp"
