// hls::stream for C simulation without vendor tools: an unbounded FIFO with the subset of the
// vendor API that generated firmware uses. Reading an empty stream is a design error in C
// simulation (the hardware would stall forever), so it stops the program with the stream's name.
#ifndef TACHYON_HLS_STREAM_H
#define TACHYON_HLS_STREAM_H

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>

namespace hls {

template <class T>
class stream {
public:
    stream() : name_("stream") {}
    explicit stream(const char* name) : name_(name) {}
    stream(const stream&) = delete;             // a FIFO is a piece of hardware, not a value
    stream& operator=(const stream&) = delete;

    bool empty() const { return fifo_.empty(); }
    bool full() const { return false; }
    size_t size() const { return fifo_.size(); }

    void write(const T& v) { fifo_.push_back(v); }
    bool write_nb(const T& v) { write(v); return true; }
    void operator<<(const T& v) { write(v); }

    T read() {
        if (fifo_.empty()) {
            std::fprintf(stderr, "hls::stream '%s': read while empty\n", name_.c_str());
            std::abort();
        }
        T v = fifo_.front();
        fifo_.pop_front();
        return v;
    }
    void read(T& v) { v = read(); }
    bool read_nb(T& v) {
        if (fifo_.empty()) return false;
        v = read();
        return true;
    }
    void operator>>(T& v) { v = read(); }

private:
    std::string name_;
    std::deque<T> fifo_;
};

}  // namespace hls

#endif  // TACHYON_HLS_STREAM_H
