import { logout, selectUser, visibleSections } from '@armillary/shared';
import {
  AppBar,
  Box,
  Button,
  Chip,
  Container,
  Drawer,
  IconButton,
  List,
  ListItemButton,
  ListItemText,
  Toolbar,
  Typography,
  useMediaQuery,
  useTheme,
} from '@mui/material';
import { useState } from 'react';
import { NavLink, Outlet, useLocation } from 'react-router-dom';
import { useAppDispatch, useAppSelector } from '../store';

export function Layout() {
  const user = useAppSelector(selectUser);
  const dispatch = useAppDispatch();
  const theme = useTheme();
  const narrow = useMediaQuery(theme.breakpoints.down('sm'));
  const [open, setOpen] = useState(false);
  const location = useLocation();
  const items = visibleSections(user?.role).map((s) => ({ to: `/${s.id}`, label: s.label }));

  const links = items.map((i) => (
    <Button
      key={i.to}
      component={NavLink}
      to={i.to}
      color="inherit"
      sx={{ '&.active': { textDecoration: 'underline', textUnderlineOffset: 6 } }}
    >
      {i.label}
    </Button>
  ));

  return (
    <Box sx={{ minHeight: '100vh', bgcolor: 'grey.50' }}>
      <AppBar position="sticky">
        <Toolbar sx={{ gap: 1 }}>
          {narrow && (
            <IconButton color="inherit" aria-label="open navigation" edge="start" onClick={() => setOpen(true)}>
              <Box component="span" sx={{ fontSize: 24, lineHeight: 1 }} aria-hidden>
                ☰
              </Box>
            </IconButton>
          )}
          <Typography variant="h6" component="div" sx={{ mr: 2 }}>
            Armillary
          </Typography>
          {!narrow && <Box component="nav" aria-label="main" sx={{ display: 'flex', gap: 1, flexGrow: 1 }}>{links}</Box>}
          {narrow && <Box sx={{ flexGrow: 1 }} />}
          {user && (
            <Chip
              size="small"
              label={narrow ? user.role : `${user.name} · ${user.role}`}
              data-testid="whoami"
              sx={{ color: 'inherit', borderColor: 'rgba(255,255,255,.6)' }}
              variant="outlined"
            />
          )}
          <Button color="inherit" onClick={() => void dispatch(logout())}>
            Sign out
          </Button>
        </Toolbar>
      </AppBar>
      <Drawer open={open} onClose={() => setOpen(false)}>
        <List component="nav" aria-label="main" sx={{ width: 220 }}>
          {items.map((i) => (
            <ListItemButton
              key={i.to}
              component={NavLink}
              to={i.to}
              selected={location.pathname.startsWith(i.to)}
              onClick={() => setOpen(false)}
            >
              <ListItemText primary={i.label} />
            </ListItemButton>
          ))}
        </List>
      </Drawer>
      <Container maxWidth="lg" sx={{ py: 2, px: { xs: 1, sm: 2 } }}>
        <Outlet />
      </Container>
    </Box>
  );
}
