//! Grid mazes.
//!
//! Reference: the grid as text rows joined by "\n" ('#' wall, '.' open, 'S' start, 'G' goal; exactly one
//! S and one G; all rows the same length; a trailing newline and "\r\n" line ends are accepted).
//! Response: move tokens `UP` `DOWN` `LEFT` `RIGHT` separated by whitespace or commas, ended by `DONE`.
//! Correct iff every token before DONE is a move, no move enters a wall or leaves the grid, and the
//! position at DONE is G. Text after DONE is ignored; a response without DONE is incorrect.

use super::{Budget, LimitHit, OptionReader, Options, Status, Verdict};
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MazeOptions {
    /// Accept only upper-case tokens (default true); false also accepts "up", "Done", ...
    pub case_sensitive: bool,
}

impl Default for MazeOptions {
    fn default() -> Self {
        MazeOptions { case_sensitive: true }
    }
}

impl MazeOptions {
    pub fn from_options(opts: &Options) -> Result<Self> {
        let mut r = OptionReader::new("maze", opts);
        let o = MazeOptions {
            case_sensitive: r.bool("case_sensitive", true)?,
        };
        r.finish()?;
        Ok(o)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid {
    pub width: usize,
    pub height: usize,
    /// Row-major cells: true where open (S and G are open).
    open: Vec<bool>,
    pub start: (usize, usize),
    pub goal: (usize, usize),
}

impl Grid {
    fn is_open(&self, row: usize, col: usize) -> bool {
        self.open[row * self.width + col]
    }
}

/// Read a grid; `InvalidReference` for anything but a rectangular grid of `#.SG` with one S and one G.
pub fn parse_reference(reference: &str, budget: &mut Budget) -> std::result::Result<Grid, Status> {
    let body = reference.strip_suffix('\n').unwrap_or(reference);
    let mut open = Vec::new();
    let (mut start, mut goal) = (None, None);
    let mut width = None;
    let mut height = 0;
    for (row, line) in body.split('\n').enumerate() {
        budget.tick().map_err(|_| Status::Limit)?;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() || width.is_some_and(|w| w != line.len()) {
            return Err(Status::InvalidReference);
        }
        width = Some(line.len());
        for (col, c) in line.bytes().enumerate() {
            let cell = match c {
                b'#' => false,
                b'.' => true,
                b'S' if start.is_none() => {
                    start = Some((row, col));
                    true
                }
                b'G' if goal.is_none() => {
                    goal = Some((row, col));
                    true
                }
                _ => return Err(Status::InvalidReference),
            };
            open.push(cell);
        }
        height += 1;
    }
    match (width, start, goal) {
        (Some(width), Some(start), Some(goal)) => Ok(Grid {
            width,
            height,
            open,
            start,
            goal,
        }),
        _ => Err(Status::InvalidReference),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    Up,
    Down,
    Left,
    Right,
}

/// The tokens of a response up to DONE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walk {
    pub moves: Vec<Move>,
    /// The first token before DONE that is not a move, if any (reading stops there).
    pub bad_token: Option<String>,
    pub done: bool,
    /// Tokens read, normalised and joined by single spaces (for display).
    pub text: String,
}

enum Token {
    Move(Move),
    Done,
    Other,
}

fn token(t: &str, case_sensitive: bool) -> Token {
    let eq = |w: &str| {
        if case_sensitive {
            t == w
        } else {
            t.eq_ignore_ascii_case(w)
        }
    };
    match () {
        _ if eq("UP") => Token::Move(Move::Up),
        _ if eq("DOWN") => Token::Move(Move::Down),
        _ if eq("LEFT") => Token::Move(Move::Left),
        _ if eq("RIGHT") => Token::Move(Move::Right),
        _ if eq("DONE") => Token::Done,
        _ => Token::Other,
    }
}

/// Split a response into moves, stopping at DONE or at the first token that is not a move.
pub fn read_walk(
    response: &str,
    opts: &MazeOptions,
    budget: &mut Budget,
) -> std::result::Result<Walk, LimitHit> {
    let mut walk = Walk {
        moves: Vec::new(),
        bad_token: None,
        done: false,
        text: String::new(),
    };
    for t in response
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
    {
        budget.tick()?;
        if !walk.text.is_empty() {
            walk.text.push(' ');
        }
        match token(t, opts.case_sensitive) {
            Token::Done => {
                walk.text.push_str("DONE");
                walk.done = true;
                break;
            }
            Token::Move(m) => {
                walk.text.push_str(match m {
                    Move::Up => "UP",
                    Move::Down => "DOWN",
                    Move::Left => "LEFT",
                    Move::Right => "RIGHT",
                });
                walk.moves.push(m);
            }
            Token::Other => {
                walk.text.push_str(t);
                walk.bad_token = Some(t.to_string());
                break;
            }
        }
    }
    Ok(walk)
}

/// Follow the moves from S; the final position, or `None` if a move hits a wall or leaves the grid.
pub fn simulate(
    grid: &Grid,
    moves: &[Move],
    budget: &mut Budget,
) -> std::result::Result<Option<(usize, usize)>, LimitHit> {
    let (mut r, mut c) = grid.start;
    for m in moves {
        budget.tick()?;
        let next = match m {
            Move::Up => r.checked_sub(1).map(|r| (r, c)),
            Move::Down => (r + 1 < grid.height).then_some((r + 1, c)),
            Move::Left => c.checked_sub(1).map(|c| (r, c)),
            Move::Right => (c + 1 < grid.width).then_some((r, c + 1)),
        };
        match next {
            Some((nr, nc)) if grid.is_open(nr, nc) => (r, c) = (nr, nc),
            _ => return Ok(None),
        }
    }
    Ok(Some((r, c)))
}

pub fn extract_answer(response: &str, opts: &MazeOptions) -> Option<String> {
    let mut b = Budget::new(super::Limits::default());
    read_walk(response, opts, &mut b)
        .ok()
        .map(|w| w.text)
        .filter(|t| !t.is_empty())
}

pub fn grade(response: &str, grid: &Grid, opts: &MazeOptions, budget: &mut Budget) -> Verdict {
    let walk = match read_walk(response, opts, budget) {
        Ok(w) => w,
        Err(LimitHit) => return Verdict::limit(),
    };
    if walk.text.is_empty() {
        return Verdict::no_answer();
    }
    if walk.bad_token.is_some() || !walk.done {
        return Verdict::incorrect(walk.text);
    }
    match simulate(grid, &walk.moves, budget) {
        Err(LimitHit) => Verdict::limit(),
        Ok(Some(pos)) if pos == grid.goal => Verdict::correct(walk.text),
        Ok(_) => Verdict::incorrect(walk.text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grading::Limits;

    const MAZE: &str = "S.#\n#.#\n#.G";

    fn run(response: &str, maze: &str) -> Verdict {
        let mut b = Budget::new(Limits::default());
        match parse_reference(maze, &mut b) {
            Ok(g) => grade(response, &g, &MazeOptions::default(), &mut b),
            Err(s) => Verdict::new(s, None),
        }
    }

    #[test]
    fn solves() {
        let v = run("RIGHT DOWN DOWN RIGHT DONE", MAZE);
        assert_eq!(
            (v.status, v.extracted.as_deref()),
            (Status::Correct, Some("RIGHT DOWN DOWN RIGHT DONE"))
        );
        assert_eq!(
            run("RIGHT,DOWN,\nDOWN, RIGHT, DONE and then some", MAZE).status,
            Status::Correct
        );
        // Passing G before DONE and coming back is fine; ending elsewhere is not.
        assert_eq!(
            run("RIGHT DOWN DOWN RIGHT LEFT RIGHT DONE", MAZE).status,
            Status::Correct
        );
        assert_eq!(
            run("RIGHT DOWN DOWN RIGHT LEFT DONE", MAZE).status,
            Status::Incorrect
        );
    }

    #[test]
    fn failures() {
        // Into a wall, off the grid, a stray token, no DONE, lower case by default.
        assert_eq!(run("DOWN DONE", MAZE).status, Status::Incorrect);
        assert_eq!(run("UP DONE", MAZE).status, Status::Incorrect);
        assert_eq!(
            run("RIGHT DOWN DOWN then RIGHT DONE", MAZE).status,
            Status::Incorrect
        );
        let v = run("RIGHT DOWN DOWN RIGHT", MAZE);
        assert_eq!(
            (v.status, v.extracted.as_deref()),
            (Status::Incorrect, Some("RIGHT DOWN DOWN RIGHT"))
        );
        assert_eq!(run("right down down right done", MAZE).status, Status::Incorrect);
        assert_eq!(run("DONE", MAZE).status, Status::Incorrect);
        assert_eq!(run("  \n ", MAZE).status, Status::NoAnswer);
        let o = MazeOptions {
            case_sensitive: false,
        };
        let mut b = Budget::new(Limits::default());
        let g = parse_reference(MAZE, &mut b).unwrap();
        assert_eq!(
            grade("right down down right done", &g, &o, &mut b).status,
            Status::Correct
        );
    }

    #[test]
    fn bad_grids() {
        let mut b = Budget::new(Limits::default());
        for bad in [
            "",
            "S..\n..",
            "S..\n...",
            "...\n..G",
            "S.G\nS..",
            "S.G\nx..",
            "S.G\n\n...",
            "SG\n",
        ] {
            let r = parse_reference(bad, &mut b);
            if bad == "SG\n" {
                assert!(r.is_ok());
            } else {
                assert_eq!(r, Err(Status::InvalidReference), "{bad:?}");
            }
        }
        let g = parse_reference("#S\r\n#G\r\n", &mut b).unwrap();
        assert_eq!((g.width, g.height, g.start, g.goal), (2, 2, (0, 1), (1, 1)));
    }
}
